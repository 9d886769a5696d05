package blocking

import (
	"bytes"
	"context"
	"encoding/xml"
	"strconv"
	"sync/atomic"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// NS is the XEP-0191 namespace.
const NS = "urn:xmpp:blocking"

type items struct {
	Items []struct {
		JID string `xml:"jid,attr"`
	} `xml:"urn:xmpp:blocking item"`
}

// Handle returns the blocklist, block and unblock registrations.
func Handle(hub *crosstalk.Hub, lists crosstalk.Blocklists, notify feature.Notifier) []feature.Registration {
	var seq atomic.Uint64
	push := func(owner crosstalk.Address, payload []byte) {
		notify.Notify(owner, func(full crosstalk.Address) []byte {
			return []byte("<iq type='set' id='block" + strconv.FormatUint(seq.Add(1), 10) + "' to='" +
				xmppmap.Escape(full.String()) + "'>" + string(payload) + "</iq>")
		})
	}
	get := func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		list, err := lists.Blocklist(ctx, iq.From.Bare())
		if err != nil {
			return nil, err
		}
		return render("blocklist", list), nil
	}
	change := func(block bool) feature.HandlerFunc {
		return func(ctx context.Context, iq feature.IQ) ([]byte, error) {
			var its items
			if err := iq.Decode(&its); err != nil {
				return nil, err
			}
			addrs := make([]crosstalk.Address, 0, len(its.Items))
			for _, it := range its.Items {
				a, err := crosstalk.ParseAddress(it.JID)
				if err != nil {
					return nil, &feature.Error{Type: "modify", Condition: "jid-malformed"}
				}
				addrs = append(addrs, a)
			}
			owner := iq.From.Bare()
			if block {
				if len(addrs) == 0 { // XEP-0191 §3.3
					return nil, feature.BadRequest("block at least one address")
				}
				if err := hub.Block(ctx, owner, addrs...); err != nil {
					return nil, err
				}
				push(owner, render("block", addrs))
				return nil, nil
			}
			if err := hub.Unblock(ctx, owner, addrs...); err != nil {
				return nil, err
			}
			push(owner, render("unblock", addrs))
			return nil, nil
		}
	}
	return []feature.Registration{
		{Space: NS, Local: "blocklist", Types: feature.Get, Target: feature.Server | feature.Own, Features: []string{NS}, Handle: get},
		{Space: NS, Local: "block", Types: feature.Set, Target: feature.Server | feature.Own, Handle: change(true)},
		{Space: NS, Local: "unblock", Types: feature.Set, Target: feature.Server | feature.Own, Handle: change(false)},
	}
}

func render(name string, addrs []crosstalk.Address) []byte {
	var b bytes.Buffer
	b.WriteString("<" + name + " xmlns='" + NS + "'>")
	for _, a := range addrs {
		b.WriteString("<item jid='")
		_ = xml.EscapeText(&b, []byte(a.String()))
		b.WriteString("'/>")
	}
	b.WriteString("</" + name + ">")
	return b.Bytes()
}
