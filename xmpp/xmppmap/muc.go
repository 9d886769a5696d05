package xmppmap

import (
	"bytes"
	"strconv"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// XEP-0045 namespaces.
const (
	NSMUC     = "http://jabber.org/protocol/muc"
	NSMUCUser = "http://jabber.org/protocol/muc#user"
)

// parseJoin reads the <x xmlns='…muc'/> of a join: the room password and
// the history wanted (XEP-0045 §7.2.6, §7.2.15).
func parseJoin(x *Element) *crosstalk.RoomJoin {
	j := &crosstalk.RoomJoin{MaxStanzas: -1}
	st := Stanza{Name: "x", Inner: x.Inner}
	children, err := st.Children()
	if err != nil {
		return j
	}
	for i := range children {
		c := &children[i]
		switch c.XMLName.Local {
		case "password":
			j.Password = c.Text()
		case "history":
			if v, err := strconv.Atoi(c.Attr("maxstanzas")); err == nil && v >= 0 {
				j.MaxStanzas = v
			}
			if v, err := time.Parse(time.RFC3339, c.Attr("since")); err == nil {
				j.Since = v
			}
		}
	}
	return j
}

// occupantPresence renders a room's presence of one occupant with its
// muc#user item and status codes (XEP-0045 §7.2.3).
func occupantPresence(p *crosstalk.Presence, to crosstalk.Address) []byte {
	s := Stanza{Name: "presence"}
	s.SetAttr("from", addr(p.From))
	s.SetAttr("to", addr(to))
	if p.Type == crosstalk.PresenceUnavailable {
		s.SetAttr("type", "unavailable")
	}
	var b bytes.Buffer
	if p.Type == crosstalk.PresenceAvailable {
		element(&b, "show", p.Show.String())
	}
	element(&b, "status", p.Status)
	o := p.Occupant
	b.WriteString("<x xmlns='" + NSMUCUser + "'><item affiliation='" + o.Affiliation.String() + "' role='" + o.Role.String() + "'")
	if !o.RealAddress.IsZero() {
		b.WriteString(" jid='")
		escape(&b, o.RealAddress.String())
		b.WriteByte('\'')
	}
	if o.NewNick != "" {
		b.WriteString(" nick='")
		escape(&b, o.NewNick)
		b.WriteByte('\'')
	}
	if o.Reason != "" {
		b.WriteString("><reason>")
		escape(&b, o.Reason)
		b.WriteString("</reason></item>")
	} else {
		b.WriteString("/>")
	}
	for _, c := range o.Codes {
		b.WriteString("<status code='" + strconv.Itoa(c) + "'/>")
	}
	b.WriteString("</x>")
	if o.OccupantID != "" {
		b.WriteString("<occupant-id xmlns='urn:xmpp:occupant-id:0' id='")
		escape(&b, o.OccupantID)
		b.WriteString("'/>")
	}
	s.Inner = b.Bytes()
	return s.Bytes()
}
