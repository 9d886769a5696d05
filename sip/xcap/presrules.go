package xcap

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"

	"github.com/crosstalk-im/crosstalk"
)

// Sub-handling values of RFC 5025 §3.2.1, ordered as its combining rule
// (the highest value of all matching rules wins) orders them.
const (
	subBlock       = 0
	subConfirm     = 10
	subPoliteBlock = 20
	subAllow       = 30
)

var subHandling = map[string]int{"block": subBlock, "confirm": subConfirm, "polite-block": subPoliteBlock, "allow": subAllow}

// Rule ids of the rendered pres-rules document.
const (
	ruleAllow   = "pres_allow"
	ruleConfirm = "pres_confirm"
	ruleBlock   = "pres_block"
)

// sees reports whether the owner lets the contact see its presence: a
// from/both subscription or a pre-approval (RFC 6121 §3.4).
func sees(it *crosstalk.RosterItem) bool { return it.SeesOwner() || it.PreApproved }

// pending reports whether the contact's request to see the owner waits.
func pending(it *crosstalk.RosterItem) bool { return it.PendingIn && !it.SeesOwner() }

// renderPresRules renders the authorisation rules (RFC 5025 on RFC 4745):
// "allow" with every presence attribute for the contacts that see the
// owner, "confirm" for those whose request waits, and "block" for the
// blocklist (an account as <one/>, a whole domain as <many domain/>).
// Blocklist entries with a resource have no pres-rules form and are left
// out (and kept by a PUT). Empty rules are left out, as <identity/> needs a
// child.
func renderPresRules(v *view) *node {
	var allow, confirm, block []*node
	for i := range v.roster.Items {
		it := &v.roster.Items[i]
		switch {
		case sees(it):
			allow = append(allow, el(nsCommonPolicy, "one", "id", contactURI(it.Contact)))
		case pending(it):
			confirm = append(confirm, el(nsCommonPolicy, "one", "id", contactURI(it.Contact)))
		}
	}
	for _, b := range v.blocked {
		switch {
		case b.Resource() != "":
		case b.Local() == "":
			block = append(block, el(nsCommonPolicy, "many", "domain", b.Domain()))
		default:
			block = append(block, el(nsCommonPolicy, "one", "id", contactURI(b)))
		}
	}
	root := el(nsCommonPolicy, "ruleset")
	if len(allow) > 0 {
		root.add(rule(ruleAllow, "allow", allow, true))
	}
	if len(confirm) > 0 {
		root.add(rule(ruleConfirm, "confirm", confirm, false))
	}
	if len(block) > 0 {
		root.add(rule(ruleBlock, "block", block, false))
	}
	return root
}

func rule(id, handling string, identities []*node, provide bool) *node {
	r := el(nsCommonPolicy, "rule", "id", id).add(
		el(nsCommonPolicy, "conditions").add(el(nsCommonPolicy, "identity").add(identities...)),
		el(nsCommonPolicy, "actions").add(el(nsPresRules, "sub-handling").withText(handling)),
	)
	t := el(nsCommonPolicy, "transformations")
	if provide {
		t.add(
			el(nsPresRules, "provide-services").add(el(nsPresRules, "all-services")),
			el(nsPresRules, "provide-persons").add(el(nsPresRules, "all-persons")),
			el(nsPresRules, "provide-devices").add(el(nsPresRules, "all-devices")),
			el(nsPresRules, "provide-all-attributes"),
		)
	}
	return r.add(t)
}

// rules is what a pres-rules document asks for, per identity: the highest
// sub-handling of the rules naming it (RFC 4745 §10, RFC 5025 §3.2.1).
type rules struct {
	accounts map[crosstalk.Address]int
	domains  map[string]int
}

// planPresRules validates a pres-rules document and returns the changes
// that make the roster and blocklist what it says: "allow" approves (or
// pre-approves) the contact, "block" puts it on the blocklist and denies
// it, "confirm" leaves a waiting request waiting. A contact that saw the
// owner and is no longer allowed is refused (unsubscribed); a waiting
// request named by no rule is denied. Conditions other than identities
// (sphere, validity, other namespaces), except and polite-block have no
// equivalent in the roster and are refused with constraint-failure, as is a
// rule for everyone other than "confirm" (what an unknown watcher gets).
func planPresRules(v *view, doc *node) ([]change, error) {
	r, err := readRules(doc)
	if err != nil {
		return nil, err
	}
	owner := v.owner
	var changes []change
	presence := func(contact crosstalk.Address, t crosstalk.PresenceType) change {
		return func(ctx context.Context, h Hub) error {
			err := h.SetPresence(ctx, &crosstalk.Presence{From: owner, To: contact, Type: t})
			if errors.Is(err, crosstalk.ErrRemoteNotSupported) {
				// The owner's side is stored before the stanza is
				// forwarded; a contact of a domain not served (and no
				// federation) just does not hear of it.
				return nil
			}
			return err
		}
	}
	known := map[crosstalk.Address]bool{}
	for i := range v.roster.Items {
		it := &v.roster.Items[i]
		known[it.Contact] = true
		want, named := r.accounts[it.Contact]
		switch {
		case named && want == subAllow && !sees(it):
			changes = append(changes, presence(it.Contact, crosstalk.PresenceSubscribed))
		case sees(it) && (!named || want != subAllow):
			changes = append(changes, presence(it.Contact, crosstalk.PresenceUnsubscribed))
		case pending(it) && (!named || want == subBlock):
			changes = append(changes, presence(it.Contact, crosstalk.PresenceUnsubscribed))
		}
	}
	for a, want := range r.accounts {
		if !known[a] && want == subAllow {
			changes = append(changes, presence(a, crosstalk.PresenceSubscribed))
		}
	}
	// The blocklist: entries with a resource are kept as they are.
	wantBlocked := map[crosstalk.Address]bool{}
	for a, want := range r.accounts {
		if want == subBlock {
			wantBlocked[a] = true
		}
	}
	for d, want := range r.domains {
		if want == subBlock {
			a, err := crosstalk.NewAddress("", d, "")
			if err != nil {
				return nil, conflict(condConstraint, "domain %q: %v", d, err)
			}
			wantBlocked[a] = true
		}
	}
	var unblock, block []crosstalk.Address
	have := map[crosstalk.Address]bool{}
	for _, b := range v.blocked {
		have[b] = true
		if b.Resource() == "" && !wantBlocked[b] {
			unblock = append(unblock, b)
		}
	}
	for a := range wantBlocked {
		if !have[a] {
			block = append(block, a)
		}
	}
	if len(unblock) > 0 {
		changes = append(changes, func(ctx context.Context, h Hub) error { return h.Unblock(ctx, owner, unblock...) })
	}
	if len(block) > 0 {
		// Block before refusing, so nothing slips through in between.
		changes = append([]change{func(ctx context.Context, h Hub) error { return h.Block(ctx, owner, block...) }}, changes...)
	}
	return changes, nil
}

// readRules reads and checks the rules of a pres-rules document.
func readRules(doc *node) (*rules, error) {
	if doc.name != (xml.Name{Space: nsCommonPolicy, Local: "ruleset"}) {
		return nil, conflict(condSchema, "the root element must be ruleset")
	}
	r := &rules{accounts: map[crosstalk.Address]int{}, domains: map[string]int{}}
	ids := map[string]bool{}
	for _, rl := range doc.children {
		if rl.name != (xml.Name{Space: nsCommonPolicy, Local: "rule"}) {
			return nil, conflict(condSchema, "ruleset holds only rule elements")
		}
		id, ok := rl.attr(xml.Name{Local: "id"})
		if !ok || !isNCName(id) {
			return nil, conflict(condSchema, "a rule needs an id that is an NCName")
		}
		if ids[id] {
			return nil, &Error{Status: 409, Condition: condUniqueness, Phrase: "two rules with id " + id, Field: "rule/@id"}
		}
		ids[id] = true
		if err := r.readRule(rl); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *rules) readRule(rl *node) error {
	handling, hasHandling := -1, false
	var conditions *node
	for _, c := range rl.children {
		switch c.name {
		case xml.Name{Space: nsCommonPolicy, Local: "conditions"}:
			conditions = c
		case xml.Name{Space: nsCommonPolicy, Local: "actions"}:
			for _, a := range c.children {
				if a.name != (xml.Name{Space: nsPresRules, Local: "sub-handling"}) {
					continue
				}
				v, ok := subHandling[strings.TrimSpace(a.text)]
				if !ok {
					return conflict(condSchema, "sub-handling %q", a.text)
				}
				if v == subPoliteBlock {
					return conflict(condConstraint, "polite-block is not supported: use block")
				}
				handling, hasHandling = v, true
			}
		case xml.Name{Space: nsCommonPolicy, Local: "transformations"}:
		default:
			return conflict(condSchema, "unexpected element %s in a rule", c.name.Local)
		}
	}
	var identities []*node
	if conditions != nil {
		for _, c := range conditions.children {
			if c.name != (xml.Name{Space: nsCommonPolicy, Local: "identity"}) {
				return conflict(condConstraint, "condition %s is not supported: only identity", c.name.Local)
			}
			if len(c.children) == 0 {
				return conflict(condSchema, "identity needs one or many")
			}
			identities = append(identities, c.children...)
		}
	}
	if !hasHandling {
		return nil // no sub-handling permission: the rule changes nothing here
	}
	if len(identities) == 0 {
		if handling != subConfirm {
			return conflict(condConstraint, "a rule for everyone can only confirm")
		}
		return nil
	}
	for _, id := range identities {
		if err := r.addIdentity(id, handling); err != nil {
			return err
		}
	}
	return nil
}

func (r *rules) addIdentity(id *node, handling int) error {
	switch id.name {
	case xml.Name{Space: nsCommonPolicy, Local: "one"}:
		uri, ok := id.attr(xml.Name{Local: "id"})
		if !ok {
			return conflict(condSchema, "one needs an id")
		}
		a, err := uriAddress(uri)
		if err != nil {
			return conflict(condConstraint, "identity %q is not an address", uri)
		}
		if old, ok := r.accounts[a]; !ok || handling > old {
			r.accounts[a] = handling
		}
	case xml.Name{Space: nsCommonPolicy, Local: "many"}:
		if len(id.children) > 0 {
			return conflict(condConstraint, "except is not supported")
		}
		d, ok := id.attr(xml.Name{Local: "domain"})
		if !ok {
			if handling != subConfirm {
				return conflict(condConstraint, "a rule for everyone can only confirm")
			}
			return nil
		}
		if handling == subAllow {
			return conflict(condConstraint, "a whole domain cannot be allowed")
		}
		if old, ok := r.domains[d]; !ok || handling > old {
			r.domains[d] = handling
		}
	default:
		return conflict(condConstraint, "identity %s is not supported", id.name.Local)
	}
	return nil
}
