package disco

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"slices"
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

// Store is what disco reads: rosters, to answer for an account only to
// its subscribers.
type Store interface {
	GetRosterItem(ctx context.Context, owner, contact crosstalk.Address) (crosstalk.RosterItem, error)
}

// NSCaps is XEP-0115 Entity Capabilities.
const NSCaps = "http://jabber.org/protocol/caps"

// CapsNode is the node the server names in its capabilities.
const CapsNode = "https://github.com/crosstalk-im/crosstalk"

// Handle returns the disco#info and disco#items registrations. Call it
// after every other registration has been added to mux. The server's
// disco#info also answers its XEP-0115 node (CapsNode#ver).
//
// services lists the service addresses (room services) shown as the
// server's disco#items.
func Handle(mux *feature.Mux, accounts Store, software string, services func(domain string) []string) []feature.Registration {
	info := func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		node := iq.Payload.Attr("node")
		if node != "" && (iq.To.Local() != "" || node != CapsNode+"#"+ServerVer(mux, software)) {
			return nil, feature.ItemNotFound()
		}
		var b strings.Builder
		b.WriteString("<query xmlns='" + NSInfo + "'")
		if node != "" {
			b.WriteString(" node='" + xmppmap.Escape(node) + "'")
		}
		b.WriteString(">")
		if iq.To.Local() == "" {
			b.WriteString("<identity category='server' type='im' name='" + xmppmap.Escape(software) + "'/>")
			writeFeatures(&b, mux.Features(feature.Server))
		} else {
			if iq.To != iq.From.Bare() {
				// Only a contact allowed to see the account's presence learns
				// that it exists (RFC 6121 §8.5.1 and §4.3.2).
				item, err := accounts.GetRosterItem(ctx, iq.To, iq.From.Bare())
				if err != nil || !item.SeesOwner() {
					return nil, feature.ServiceUnavailable()
				}
			}
			b.WriteString("<identity category='account' type='registered'/>")
			target := feature.Account // what others may ask of the account
			if iq.To == iq.From.Bare() {
				target |= feature.Own // and what the server does for the account itself
			}
			features := mux.Features(target)
			if slices.Contains(features, "http://jabber.org/protocol/pubsub#publish") { // XEP-0163 §3
				b.WriteString("<identity category='pubsub' type='pep'/>")
			}
			writeFeatures(&b, features)
		}
		b.WriteString("</query>")
		return []byte(b.String()), nil
	}
	items := func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		var b strings.Builder
		b.WriteString("<query xmlns='" + NSItems + "'>")
		if iq.To.Local() == "" && services != nil {
			domain := iq.To.Domain()
			if domain == "" {
				domain = iq.From.Domain()
			}
			for _, s := range services(domain) {
				b.WriteString("<item jid='" + xmppmap.Escape(s) + "'/>")
			}
		}
		b.WriteString("</query>")
		return []byte(b.String()), nil
	}
	return []feature.Registration{
		{Space: NSInfo, Local: "query", Types: feature.Get, Target: feature.Server | feature.Account, Handle: info,
			Features: []string{NSInfo, NSItems, NSCaps}},
		{Space: NSItems, Local: "query", Types: feature.Get, Target: feature.Server | feature.Account, Handle: items},
	}
}

func writeFeatures(b *strings.Builder, features []string) {
	for _, f := range features {
		b.WriteString("<feature var='" + xmppmap.Escape(f) + "'/>")
	}
}

// Identity is a disco identity, for the XEP-0115 verification string.
type Identity struct {
	Category, Type, Lang, Name string
}

// Ver computes the XEP-0115 §5.1 verification string (SHA-1) of
// identities and features (without extended forms).
func Ver(ids []Identity, features []string) string {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b Identity) int {
		return cmp.Or(cmp.Compare(a.Category, b.Category), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Lang, b.Lang))
	})
	features = slices.Clone(features)
	slices.Sort(features)
	var s strings.Builder
	for _, id := range ids {
		s.WriteString(id.Category + "/" + id.Type + "/" + id.Lang + "/" + id.Name + "<")
	}
	for _, f := range features {
		s.WriteString(f + "<")
	}
	sum := sha1.Sum([]byte(s.String()))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// ServerVer is the verification string of the server's disco#info.
func ServerVer(mux *feature.Mux, software string) string {
	return Ver([]Identity{{Category: "server", Type: "im", Name: software}}, mux.Features(feature.Server))
}
