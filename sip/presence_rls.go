package sip

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// rlmiContentType is the resource list meta-information type (RFC 4662 §5).
const rlmiContentType = "application/rlmi+xml"

// loadList (re)reads the list of a resource-list subscription from its
// owner's roster (every contact is a resource; the roster is the list that
// sip/xcap serves as resource-lists) and indexes the subscription under
// each contact, so their presence changes reach it.
func (p *presenceServer) loadList(ctx context.Context, sub *subscription) error {
	roster, err := p.s.store.GetRoster(ctx, sub.presentity)
	if err != nil {
		return fmt.Errorf("resource list of %s: %w", sub.presentity, err)
	}
	contacts := make([]crosstalk.Address, 0, len(roster.Items))
	for _, it := range roster.Items {
		contacts = append(contacts, it.Contact.Bare())
	}
	sort.Slice(contacts, func(i, j int) bool { return contacts[i].String() < contacts[j].String() })
	p.mu.Lock()
	defer p.mu.Unlock()
	sub.mu.Lock()
	old := sub.contacts
	sub.contacts = contacts
	sub.full = true
	sub.mu.Unlock()
	if p.subs[sub.key] != sub {
		return nil // already removed
	}
	for _, c := range old {
		unindex(p.byContact, c, sub)
	}
	for _, c := range contacts {
		index(p.byContact, c, sub)
	}
	return nil
}

// listBody renders a resource-list NOTIFY (RFC 4662 §5): multipart/related
// with the RLMI document first and one PIDF part per resource the owner may
// see; full state lists every contact, a partial one only those changed
// since the last NOTIFY.
func (p *presenceServer) listBody(ctx context.Context, sub *subscription, n notifyState) (string, []byte, error) {
	roster, err := p.s.store.GetRoster(ctx, sub.presentity)
	if err != nil {
		return "", nil, fmt.Errorf("resource list of %s: %w", sub.presentity, err)
	}
	items := make(map[crosstalk.Address]crosstalk.RosterItem, len(roster.Items))
	for _, it := range roster.Items {
		items[it.Contact.Bare()] = it
	}
	var resources []crosstalk.Address
	for _, c := range n.contacts {
		if _, ok := n.changed[c]; n.full || ok {
			resources = append(resources, c)
		}
	}
	host := p.s.cfg.Domains[0]
	boundary := "ct-" + newETag()
	listURI := "sip:" + sub.localURI.User + "@" + sub.localURI.Host
	var rlmi strings.Builder
	rlmi.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	rlmi.WriteString(`<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="` + sipmap.XMLText(listURI) + `" version="` + strconv.Itoa(n.version) +
		`" fullState="` + strconv.FormatBool(n.full) + `">` + "\n")
	var parts strings.Builder
	for _, c := range resources {
		uri, err := c.SIPURI()
		if err != nil {
			continue
		}
		it, ok := items[c]
		id := xmlID("i", uri)
		rlmi.WriteString(` <resource uri="` + sipmap.XMLText(uri) + `">` + "\n")
		switch {
		case ok && it.OwnerSees():
			cid := id + "@" + host
			rlmi.WriteString(`  <instance id="` + id + `" state="active" cid="` + sipmap.XMLText(cid) + `"/>` + "\n")
			agg := p.s.hub.Aggregate(c)
			doc, err := renderPresence(c, &agg)
			if err != nil {
				return "", nil, err
			}
			parts.WriteString("--" + boundary + "\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <" + cid + ">\r\nContent-Type: " + pidfContentType + ";charset=\"UTF-8\"\r\n\r\n")
			parts.Write(doc)
			parts.WriteString("\r\n")
		case ok && it.PendingOut:
			rlmi.WriteString(`  <instance id="` + id + `" state="pending"/>` + "\n")
		default:
			rlmi.WriteString(`  <instance id="` + id + `" state="terminated" reason="rejected"/>` + "\n")
		}
		rlmi.WriteString(" </resource>\n")
	}
	rlmi.WriteString("</list>\n")
	start := "rlmi-" + sub.localTag + "@" + host
	var body strings.Builder
	body.WriteString("--" + boundary + "\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <" + start + ">\r\nContent-Type: " + rlmiContentType + ";charset=\"UTF-8\"\r\n\r\n")
	body.WriteString(rlmi.String())
	body.WriteString("\r\n")
	body.WriteString(parts.String())
	body.WriteString("--" + boundary + "--\r\n")
	ct := `multipart/related;type="` + rlmiContentType + `";start="<` + start + `>";boundary="` + boundary + `"`
	return ct, []byte(body.String()), nil
}
