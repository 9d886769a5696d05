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
// the history wanted (XEP-0045 §7.2.6, §7.2.15), seconds counted back
// from now.
func parseJoin(x *Element, now time.Time) *crosstalk.RoomJoin {
	j := &crosstalk.RoomJoin{MaxStanzas: -1, Configurable: true} // a MUC client can configure a room it creates
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
			parseHistory(j, c, now)
		}
	}
	return j
}

// parseHistory reads <history/>: maxstanzas, since and seconds (the later
// of the two bounds applies); maxchars='0' asks for no history, other
// character budgets are not enforced (the core counts stanzas).
func parseHistory(j *crosstalk.RoomJoin, c *Element, now time.Time) {
	if v, err := strconv.Atoi(c.Attr("maxstanzas")); err == nil && v >= 0 {
		j.MaxStanzas = v
	}
	if c.Attr("maxchars") == "0" {
		j.MaxStanzas = 0
	}
	if v, err := time.Parse(time.RFC3339, c.Attr("since")); err == nil {
		j.Since = v
	}
	if v, err := strconv.ParseInt(c.Attr("seconds"), 10, 64); err == nil && v >= 0 && v < 1<<31 {
		if since := now.Add(-time.Duration(v) * time.Second); since.After(j.Since) {
			j.Since = since
		}
	}
}

// occupantPresence renders a room's presence of one occupant with its
// muc#user item and status codes (XEP-0045 §7.2.3), and a <destroy/> with
// the reason when the room went away (status 332 from Hub.DestroyRoom).
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
	destroyed := p.Type == crosstalk.PresenceUnavailable && o.HasCode(crosstalk.RoomStatusShutdown)
	if o.Reason != "" && !destroyed {
		b.WriteString("><reason>")
		escape(&b, o.Reason)
		b.WriteString("</reason></item>")
	} else {
		b.WriteString("/>")
	}
	if destroyed { // XEP-0045 §10.9: the reason goes in <destroy/>
		b.WriteString("<destroy>")
		element(&b, "reason", o.Reason)
		b.WriteString("</destroy>")
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
