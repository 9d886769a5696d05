package xcap

import (
	"context"
	"encoding/xml"
	"slices"
	"sort"
	"strings"

	"github.com/crosstalk-im/crosstalk"
)

// rosterListName is the name of the top-level list that holds the roster.
const rosterListName = "roster"

// view is what the documents of one account are rendered from: the roster
// and the blocklist, read once per request.
type view struct {
	owner   crosstalk.Address
	roster  crosstalk.Roster
	blocked []crosstalk.Address
	// listURI is the absolute HTTP URI of the roster list in the
	// resource-lists document, for rls-services.
	listURI string
	// serviceURI is the buddy-list URI of rls-services.
	serviceURI string
}

// change is one step of applying a PUT or DELETE through the hub.
type change func(ctx context.Context, h Hub) error

// shownInList reports whether a roster item is a contact of the list: an
// item that is only a pending inbound request is not (RFC 6121 §2.1.6; it
// appears in pres-rules as a watcher to confirm).
func shownInList(it *crosstalk.RosterItem) bool {
	return it.Subscription != crosstalk.SubscriptionNone || it.PendingOut || !it.PendingIn
}

// contactURI is the entry URI of a contact: its sip: URI (RFC 7247).
func contactURI(a crosstalk.Address) string {
	if u, err := a.SIPURI(); err == nil {
		return u
	}
	return "xmpp:" + a.String()
}

// renderResourceLists renders the roster as RFC 4826 resource lists: one
// top-level list named "roster" holding the contacts in no group as
// entries and one sub-list per group, named after it, holding that group's
// contacts (a contact in several groups is an entry of each).
func renderResourceLists(v *view) *node {
	top := el(nsResourceLists, "list", "name", rosterListName)
	groups := map[string][]*crosstalk.RosterItem{}
	for i := range v.roster.Items {
		it := &v.roster.Items[i]
		if !shownInList(it) {
			continue
		}
		if len(it.Groups) == 0 {
			top.add(entryNode(it))
		}
		for _, g := range uniqueSorted(it.Groups) {
			groups[g] = append(groups[g], it)
		}
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		sub := el(nsResourceLists, "list", "name", g)
		for _, it := range groups[g] {
			sub.add(entryNode(it))
		}
		top.add(sub)
	}
	return el(nsResourceLists, "resource-lists").add(top)
}

func entryNode(it *crosstalk.RosterItem) *node {
	e := el(nsResourceLists, "entry", "uri", contactURI(it.Contact))
	if it.Name != "" {
		e.add(el(nsResourceLists, "display-name").withText(it.Name))
	}
	return e
}

func uniqueSorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return slices.Compact(out)
}

// wantItem is a contact as a resource-lists document describes it.
type wantItem struct {
	name   string
	groups []string
}

// planResourceLists validates a resource-lists document (schema and RFC
// 4826 §3.4 uniqueness, and what a roster can hold) and returns the roster
// changes that make the roster what it describes: entries of a top-level
// list are contacts in no group, entries below a second-level list are in
// the group that list names. Items that are only pending inbound requests
// are kept.
func planResourceLists(v *view, doc *node) ([]change, error) {
	if doc.name != (xml.Name{Space: nsResourceLists, Local: "resource-lists"}) {
		return nil, conflict(condSchema, "the root element must be resource-lists")
	}
	want := map[crosstalk.Address]*wantItem{}
	var order []crosstalk.Address
	lists := 0
	for _, top := range doc.children {
		if top.name.Space != nsResourceLists {
			continue
		}
		if top.name.Local != "list" {
			return nil, conflict(condSchema, "resource-lists holds only list elements")
		}
		lists++
		if err := walkList(v, top, "", 1, want, &order); err != nil {
			return nil, err
		}
	}
	if lists == 0 {
		return nil, conflict(condSchema, "resource-lists needs a list")
	}
	current := map[crosstalk.Address]*crosstalk.RosterItem{}
	for i := range v.roster.Items {
		current[v.roster.Items[i].Contact] = &v.roster.Items[i]
	}
	var changes []change
	owner := v.owner
	for _, c := range order {
		w := want[c]
		groups := uniqueSorted(w.groups)
		if it, ok := current[c]; ok && shownInList(it) && it.Name == w.name && slices.Equal(uniqueSorted(it.Groups), groups) {
			continue
		}
		item := crosstalk.RosterItem{Contact: c, Name: w.name, Groups: groups}
		changes = append(changes, func(ctx context.Context, h Hub) error { return h.SetRosterItem(ctx, owner, item) })
	}
	for i := range v.roster.Items {
		it := &v.roster.Items[i]
		if _, keep := want[it.Contact]; keep || !shownInList(it) {
			continue
		}
		contact := it.Contact
		changes = append(changes, func(ctx context.Context, h Hub) error { return h.RemoveRosterItem(ctx, owner, contact) })
	}
	return changes, nil
}

// walkList collects the entries of a list; depth 1 is a top-level list,
// whose entries have no group; a list at depth 2 names the group of
// everything below it.
func walkList(v *view, l *node, group string, depth int, want map[crosstalk.Address]*wantItem, order *[]crosstalk.Address) error {
	names := map[string]bool{}
	uris := map[string]bool{}
	for _, c := range l.children {
		if c.name.Space != nsResourceLists {
			continue // extensions of other namespaces are allowed and ignored
		}
		switch c.name.Local {
		case "display-name":
		case "list":
			name, _ := c.attr(xml.Name{Local: "name"})
			if names[name] {
				return &Error{Status: 409, Condition: condUniqueness, Phrase: "two lists named " + name, Field: "list/@name"}
			}
			names[name] = true
			g := group
			if depth == 1 {
				if strings.TrimSpace(name) == "" {
					return conflict(condConstraint, "a group list needs a name")
				}
				g = name
			}
			if err := walkList(v, c, g, depth+1, want, order); err != nil {
				return err
			}
		case "entry":
			uri, ok := c.attr(xml.Name{Local: "uri"})
			if !ok {
				return conflict(condSchema, "entry needs a uri")
			}
			if uris[uri] {
				return &Error{Status: 409, Condition: condUniqueness, Phrase: "two entries for " + uri, Field: "entry/@uri"}
			}
			uris[uri] = true
			addr, err := uriAddress(uri)
			if err != nil {
				return conflict(condConstraint, "entry %q: %v", uri, err)
			}
			if addr == v.owner {
				return conflict(condConstraint, "an account cannot be its own contact")
			}
			w := want[addr]
			if w == nil {
				w = &wantItem{}
				want[addr] = w
				*order = append(*order, addr)
			}
			for _, d := range c.children {
				if d.name == (xml.Name{Space: nsResourceLists, Local: "display-name"}) && w.name == "" {
					w.name = strings.TrimSpace(d.text)
				}
			}
			if group != "" {
				w.groups = append(w.groups, group)
			}
		case "external", "entry-ref":
			return conflict(condConstraint, "%s is not supported: the lists are the roster", c.name.Local)
		default:
			return conflict(condSchema, "unexpected element %s in a list", c.name.Local)
		}
	}
	return nil
}

// uriAddress maps an entry or identity URI to a bare address: sip:, sips:,
// pres: (RFC 7247) or xmpp: (RFC 5122).
func uriAddress(uri string) (crosstalk.Address, error) {
	scheme, rest, _ := strings.Cut(uri, ":")
	switch strings.ToLower(scheme) {
	case "xmpp":
		a, err := crosstalk.ParseAddress(strings.TrimPrefix(rest, "//"))
		return a.Bare(), err
	case "pres":
		uri = "sip:" + rest
	}
	a, err := crosstalk.ParseSIPURI(uri)
	return a.Bare(), err
}
