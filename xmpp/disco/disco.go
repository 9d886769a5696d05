// Package disco answers XEP-0030 Service Discovery for the server and for
// local accounts. The features it lists are exactly those of the mux's
// registrations for each target, so disco advertises only what is handled.
//
//	mux := feature.NewMux(…)
//	mux.Add(disco.Handle(mux, store)...)
package disco

import (
	"context"
	"strings"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Namespaces of XEP-0030.
const (
	NSInfo  = "http://jabber.org/protocol/disco#info"
	NSItems = "http://jabber.org/protocol/disco#items"
)

// Handle returns the disco#info and disco#items registrations. Call it
// after every other registration has been added to mux.
func Handle(mux *feature.Mux, accounts crosstalk.Accounts, software string) []feature.Registration {
	info := func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		if node := iq.Payload.Attr("node"); node != "" {
			return nil, feature.ItemNotFound()
		}
		var b strings.Builder
		b.WriteString("<query xmlns='" + NSInfo + "'>")
		if iq.To.Local() == "" {
			b.WriteString("<identity category='server' type='im' name='" + xmppmap.Escape(software) + "'/>")
			writeFeatures(&b, mux.Features(feature.Server))
		} else {
			if iq.To != iq.From.Bare() {
				if _, err := accounts.GetAccount(ctx, iq.To); err != nil {
					return nil, feature.ServiceUnavailable()
				}
			}
			b.WriteString("<identity category='account' type='registered'/>")
			writeFeatures(&b, mux.Features(feature.Account))
		}
		b.WriteString("</query>")
		return []byte(b.String()), nil
	}
	items := func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		return []byte("<query xmlns='" + NSItems + "'/>"), nil
	}
	return []feature.Registration{
		{Space: NSInfo, Local: "query", Types: feature.Get, Target: feature.Server | feature.Account, Handle: info,
			Features: []string{NSInfo, NSItems}},
		{Space: NSItems, Local: "query", Types: feature.Get, Target: feature.Server | feature.Account, Handle: items},
	}
}

func writeFeatures(b *strings.Builder, features []string) {
	for _, f := range features {
		b.WriteString("<feature var='" + xmppmap.Escape(f) + "'/>")
	}
}
