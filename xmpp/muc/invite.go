package muc

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Router is what an invitation needs of the hub: who is in the room, and
// routing of the invitation message.
type Router interface {
	RoomState(ctx context.Context, room crosstalk.Address) (crosstalk.Room, []crosstalk.Occupant, error)
	RouteMessage(ctx context.Context, m *crosstalk.Message) error
}

type inviteX struct {
	Invites []struct {
		To     string `xml:"to,attr"`
		Reason string `xml:"reason"`
	} `xml:"http://jabber.org/protocol/muc#user invite"`
}

// IsInvite reports whether a message to a room carries mediated
// invitations (XEP-0045 §7.8.2).
func IsInvite(m *crosstalk.Message, st *xmppmap.Stanza) bool {
	if m.Type == crosstalk.MessageGroupchat || !m.To.IsBare() || !bytes.Contains(st.Inner, []byte("invite")) {
		return false
	}
	children, _ := st.Children()
	for _, c := range children {
		if c.XMLName.Space == xmppmap.NSMUCUser && c.XMLName.Local == "x" {
			return true
		}
	}
	return false
}

// Invite relays an occupant's mediated invitations: each invitee gets a
// message from the room naming the inviter, with the room's password.
func Invite(ctx context.Context, rooms Router, from crosstalk.Address, room crosstalk.Address, st *xmppmap.Stanza) error {
	r, occupants, err := rooms.RoomState(ctx, room)
	if err != nil {
		return err
	}
	present := false
	for _, o := range occupants {
		if o.RealAddress == from {
			present = true
		}
	}
	if !present {
		return &feature.Error{Type: "cancel", Condition: "not-acceptable", Text: "only occupants invite"}
	}
	var x inviteX
	children, _ := st.Children()
	for _, c := range children {
		if c.XMLName.Space == xmppmap.NSMUCUser && c.XMLName.Local == "x" {
			raw := append([]byte("<x xmlns='"+xmppmap.NSMUCUser+"'>"), c.Inner...)
			if err := xml.Unmarshal(append(raw, "</x>"...), &x); err != nil {
				return feature.BadRequest("malformed invitation")
			}
		}
	}
	if len(x.Invites) == 0 {
		return feature.BadRequest("no invitee")
	}
	for _, inv := range x.Invites {
		to, err := crosstalk.ParseAddress(inv.To)
		if err != nil {
			return &feature.Error{Type: "modify", Condition: "jid-malformed"}
		}
		var b bytes.Buffer
		b.WriteString("<x xmlns='" + xmppmap.NSMUCUser + "'><invite from='" + xmppmap.Escape(from.Bare().String()) + "'>")
		if inv.Reason != "" {
			b.WriteString("<reason>" + xmppmap.Escape(inv.Reason) + "</reason>")
		}
		b.WriteString("</invite>")
		if r.Config.Password != "" {
			b.WriteString("<password>" + xmppmap.Escape(r.Config.Password) + "</password>")
		}
		b.WriteString("</x>")
		out := xmppmap.Stanza{Name: "message", Inner: b.Bytes()}
		out.SetAttr("from", room.String())
		out.SetAttr("to", to.String())
		m := &crosstalk.Message{From: room, To: to, Type: crosstalk.MessageNormal, Body: fmt.Sprintf("%s invites you to %s", from.Bare(), room),
			Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: out.Bytes()}}
		if err := rooms.RouteMessage(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
