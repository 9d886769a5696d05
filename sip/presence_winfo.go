package sip

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// winfoContentType is the watcher information media type (RFC 3858 §4).
const winfoContentType = "application/watcherinfo+xml"

// winfoBody renders the account's watchers (RFC 3858) in full state: the
// roster's contacts that see it are active (event "approved"), those whose
// request waits are pending (event "subscribe"). A client learns of
// pending watchers here and approves them through XCAP pres-rules or any
// other protocol; the roster is the one source.
func (p *presenceServer) winfoBody(ctx context.Context, sub *subscription, n notifyState) (string, []byte, error) {
	roster, err := p.s.store.GetRoster(ctx, sub.presentity)
	if err != nil {
		return "", nil, fmt.Errorf("watchers of %s: %w", sub.presentity, err)
	}
	type watcher struct{ uri, status, event string }
	var list []watcher
	for _, it := range roster.Items {
		uri, err := it.Contact.Bare().SIPURI()
		if err != nil {
			continue
		}
		switch {
		case it.SeesOwner():
			list = append(list, watcher{uri, "active", "approved"})
		case it.PendingIn:
			list = append(list, watcher{uri, "pending", "subscribe"})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].uri < list[j].uri })
	resource, err := sub.presentity.SIPURI()
	if err != nil {
		return "", nil, fmt.Errorf("watchers of %s: %w", sub.presentity, err)
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="` + strconv.Itoa(n.version) + `" state="full">` + "\n")
	b.WriteString(` <watcher-list resource="` + sipmap.XMLText(resource) + `" package="presence">` + "\n")
	for _, w := range list {
		b.WriteString(`  <watcher id="` + xmlID("w", w.uri) + `" event="` + w.event + `" status="` + w.status + `">`)
		b.WriteString(sipmap.XMLText(w.uri))
		b.WriteString("</watcher>\n")
	}
	b.WriteString(" </watcher-list>\n</watcherinfo>\n")
	return winfoContentType, []byte(b.String()), nil
}

// xmlID derives a stable XML id from a URI.
func xmlID(prefix, uri string) string {
	return prefix + resourceFor(uri)[len("sip-"):]
}
