package xmppmap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/crosstalk-im/crosstalk"
)

// NSRoster is the roster namespace (RFC 6121 §2).
const NSRoster = "jabber:iq:roster"

// RosterChange is one item of a roster set: an item to add or update, or a
// removal.
type RosterChange struct {
	Item   crosstalk.RosterItem
	Remove bool
}

type rosterQuery struct {
	XMLName xml.Name `xml:"jabber:iq:roster query"`
	Ver     string   `xml:"ver,attr"`
	Items   []struct {
		JID          string   `xml:"jid,attr"`
		Name         string   `xml:"name,attr"`
		Subscription string   `xml:"subscription,attr"`
		Groups       []string `xml:"jabber:iq:roster group"`
	} `xml:"jabber:iq:roster item"`
}

// ParseRosterQuery parses a <query xmlns='jabber:iq:roster'/> element
// (its full serialisation) into the requested version and items.
func ParseRosterQuery(raw []byte) (ver string, items []RosterChange, err error) {
	var q rosterQuery
	if err := xml.Unmarshal(raw, &q); err != nil {
		return "", nil, fmt.Errorf("xmppmap: roster query: %w", err)
	}
	for _, it := range q.Items {
		a, err := crosstalk.ParseAddress(it.JID)
		if err != nil {
			return "", nil, fmt.Errorf("roster item: %w", err)
		}
		ch := RosterChange{Remove: it.Subscription == "remove"}
		ch.Item.Contact = a
		ch.Item.Name = it.Name
		seen := make(map[string]bool, len(it.Groups))
		for _, g := range it.Groups {
			if g == "" || seen[g] {
				return "", nil, fmt.Errorf("roster item %s: %w: empty or duplicate group", a, crosstalk.ErrInvalidAddress)
			}
			seen[g] = true
			ch.Item.Groups = append(ch.Item.Groups, g)
		}
		items = append(items, ch)
	}
	return q.Ver, items, nil
}

// RosterVisible reports whether an item belongs in the client's roster: an
// item that exists only because the contact asked to subscribe (none,
// pending in, no name, no groups) is not shown until the owner acts on it
// (RFC 6121 §3.1.3).
func RosterVisible(it crosstalk.RosterItem) bool {
	return !(it.Subscription == crosstalk.SubscriptionNone && !it.PendingOut && it.PendingIn && it.Name == "" && len(it.Groups) == 0)
}

// RosterItem renders one <item/>; removed renders subscription='remove'.
func RosterItem(b *bytes.Buffer, it crosstalk.RosterItem, removed bool) {
	b.WriteString("<item jid='")
	escape(b, it.Contact.String())
	b.WriteByte('\'')
	if it.Name != "" {
		b.WriteString(" name='")
		escape(b, it.Name)
		b.WriteByte('\'')
	}
	sub := it.Subscription.String()
	if removed {
		sub = "remove"
	}
	b.WriteString(" subscription='" + sub + "'")
	if it.PendingOut && !removed {
		b.WriteString(" ask='subscribe'")
	}
	if it.PreApproved && !removed {
		b.WriteString(" approved='true'") // RFC 6121 §3.4
	}
	if len(it.Groups) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	for _, g := range it.Groups {
		element(b, "group", g)
	}
	b.WriteString("</item>")
}

// RosterResult renders the <query/> of a roster get result with the
// visible items and the version (XEP-0237).
func RosterResult(r crosstalk.Roster) []byte {
	var b bytes.Buffer
	b.WriteString("<query xmlns='jabber:iq:roster' ver='" + strconv.FormatInt(r.Version, 10) + "'>")
	for _, it := range r.Items {
		if RosterVisible(it) {
			RosterItem(&b, it, false)
		}
	}
	b.WriteString("</query>")
	return b.Bytes()
}

// RosterPush renders the <query/> of a roster push (RFC 6121 §2.1.6).
func RosterPush(rp *crosstalk.RosterPush) []byte {
	var b bytes.Buffer
	b.WriteString("<query xmlns='jabber:iq:roster' ver='" + strconv.FormatInt(rp.Version, 10) + "'>")
	RosterItem(&b, rp.Item, rp.Removed)
	b.WriteString("</query>")
	return b.Bytes()
}
