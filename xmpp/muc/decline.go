package muc

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

type declineX struct {
	Decline *struct {
		To     string `xml:"to,attr"`
		Reason string `xml:"reason"`
	} `xml:"http://jabber.org/protocol/muc#user decline"`
}

// IsDecline reports whether a message to a room declines a mediated
// invitation (XEP-0045 §7.8.2).
func IsDecline(m *crosstalk.Message, st *xmppmap.Stanza) bool {
	if m.Type == crosstalk.MessageGroupchat || !m.To.IsBare() || !bytes.Contains(st.Inner, []byte("decline")) {
		return false
	}
	_, ok := userX(st)
	return ok
}

// userX returns the inner XML of a message's <x xmlns='…muc#user'/>.
func userX(st *xmppmap.Stanza) ([]byte, bool) {
	children, _ := st.Children()
	for _, c := range children {
		if c.XMLName.Space == xmppmap.NSMUCUser && c.XMLName.Local == "x" {
			return c.Inner, true
		}
	}
	return nil, false
}

// Decline relays a declined invitation from the room to the inviter, who
// must be present in the room or affiliated with it, so that a room cannot
// be used to send declines to strangers.
func Decline(ctx context.Context, rooms Router, from, room crosstalk.Address, st *xmppmap.Stanza) error {
	inner, _ := userX(st)
	var x declineX
	raw := append([]byte("<x xmlns='"+xmppmap.NSMUCUser+"'>"), inner...)
	if err := xml.Unmarshal(append(raw, "</x>"...), &x); err != nil || x.Decline == nil {
		return feature.BadRequest("malformed decline")
	}
	to, err := crosstalk.ParseAddress(x.Decline.To)
	if err != nil {
		return &feature.Error{Type: "modify", Condition: "jid-malformed"}
	}
	r, occupants, err := rooms.RoomState(ctx, room)
	if err != nil {
		return err
	}
	known := r.Affiliations[to.Bare()] >= crosstalk.AffiliationMember
	for _, o := range occupants {
		known = known || o.RealAddress.Bare() == to.Bare()
	}
	if !known {
		return &feature.Error{Type: "cancel", Condition: "item-not-found", Text: "the inviter is not in the room"}
	}
	var b bytes.Buffer
	b.WriteString("<x xmlns='" + xmppmap.NSMUCUser + "'><decline from='" + xmppmap.Escape(from.Bare().String()) + "'>")
	if x.Decline.Reason != "" {
		b.WriteString("<reason>" + xmppmap.Escape(x.Decline.Reason) + "</reason>")
	}
	b.WriteString("</decline></x>")
	body := fmt.Sprintf("%s declines your invitation to %s", from.Bare(), room)
	b.WriteString("<body>" + xmppmap.Escape(body) + "</body>") // for clients without MUC
	out := xmppmap.Stanza{Name: "message", Inner: b.Bytes()}
	out.SetAttr("from", room.String())
	out.SetAttr("to", to.String())
	m := &crosstalk.Message{From: room, To: to, Type: crosstalk.MessageNormal, Body: body,
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: out.Bytes()}}
	return rooms.RouteMessage(ctx, m)
}

// MessageError refines the hub's refusal of a groupchat message for XEP-0045
// §7.4: a sender that is not an occupant gets not-acceptable (a visitor
// without voice keeps forbidden). It reads the room only on this error
// path.
func MessageError(ctx context.Context, rooms Router, from, room crosstalk.Address, err error) error {
	if !errors.Is(err, crosstalk.ErrForbidden) || !room.IsBare() {
		return err
	}
	_, occupants, serr := rooms.RoomState(ctx, room)
	if serr != nil {
		return err
	}
	for _, o := range occupants {
		if o.RealAddress == from {
			return err
		}
	}
	return &feature.Error{Type: "modify", Condition: "not-acceptable", Text: "only occupants send messages to the room"}
}
