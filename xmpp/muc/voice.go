package muc

import (
	"bytes"
	"context"
	"encoding/xml"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// nsRequest is the FORM_TYPE of voice requests (XEP-0045 §7.13, §8.6).
const nsRequest = "http://jabber.org/protocol/muc#request"

// Requests is what relaying room requests needs of the hub.
type Requests interface {
	Router
	SetRoomRole(ctx context.Context, room, actor crosstalk.Address, nick string, role crosstalk.Role, reason string) error
}

type requestForm struct {
	Type   string `xml:"type,attr"`
	Fields []struct {
		Var    string   `xml:"var,attr"`
		Values []string `xml:"value"`
	} `xml:"field"`
}

// IsRoomRequest reports whether a message to a room is one the room
// answers itself rather than routes: a declined invitation, a voice
// request or approval, or a groupchat message to one occupant (refused).
func IsRoomRequest(m *crosstalk.Message, st *xmppmap.Stanza) bool {
	return isGroupchatToOccupant(m) || IsDecline(m, st) || isVoiceRequest(m, st)
}

// RoomRequest handles what IsRoomRequest accepted.
func RoomRequest(ctx context.Context, rooms Requests, from, room crosstalk.Address, st *xmppmap.Stanza) error {
	m, err := xmppmap.ToMessage(st)
	if err != nil {
		return feature.BadRequest(err.Error())
	}
	m.To = room
	switch {
	case isGroupchatToOccupant(&m): // XEP-0045 §7.5: the recipient would take it for a room message
		return feature.BadRequest("a private message is not of type groupchat")
	case isVoiceRequest(&m, st):
		return voiceRequest(ctx, rooms, from, room, st)
	}
	return Decline(ctx, rooms, from, room, st)
}

func isGroupchatToOccupant(m *crosstalk.Message) bool {
	return m.Type == crosstalk.MessageGroupchat && !m.To.IsBare()
}

func isVoiceRequest(m *crosstalk.Message, st *xmppmap.Stanza) bool {
	if m.Type == crosstalk.MessageGroupchat || !m.To.IsBare() || !bytes.Contains(st.Inner, []byte(nsRequest)) {
		return false
	}
	_, ok := requestOf(st)
	return ok
}

// requestOf returns the fields of a muc#request form in a message.
func requestOf(st *xmppmap.Stanza) (map[string]string, bool) {
	children, _ := st.Children()
	for _, c := range children {
		if c.XMLName.Space != nsData || c.XMLName.Local != "x" {
			continue
		}
		var f requestForm
		raw := append([]byte("<x>"), c.Inner...)
		if xml.Unmarshal(append(raw, "</x>"...), &f) != nil {
			return nil, false
		}
		fields := map[string]string{}
		for _, fl := range f.Fields {
			if len(fl.Values) > 0 {
				fields[fl.Var] = fl.Values[0]
			}
		}
		if fields["FORM_TYPE"] == nsRequest {
			return fields, true
		}
	}
	return nil, false
}

// voiceRequest relays a visitor's request for voice to the moderators as
// a form (XEP-0045 §7.13), or applies a moderator's approval (§8.6) by
// granting the participant role — which the hub allows to moderators only.
func voiceRequest(ctx context.Context, rooms Requests, from, room crosstalk.Address, st *xmppmap.Stanza) error {
	fields, _ := requestOf(st)
	if nick, ok := fields["muc#roomnick"]; ok && fields["muc#request_allow"] != "" { // an answer
		if !truth(fields["muc#request_allow"]) {
			return nil
		}
		return rooms.SetRoomRole(ctx, room, from, nick, crosstalk.RoleParticipant, "")
	}
	_, occupants, err := rooms.RoomState(ctx, room)
	if err != nil {
		return err
	}
	var me *crosstalk.Occupant
	for i := range occupants {
		if occupants[i].RealAddress == from {
			me = &occupants[i]
		}
	}
	switch {
	case me == nil:
		return notJoined()
	case me.Role != crosstalk.RoleVisitor:
		return nil // it has voice already
	}
	var b bytes.Buffer
	b.WriteString("<x xmlns='" + nsData + "' type='form'><title>Voice request</title>" +
		"<instructions>To approve this request for voice, select the \"Grant voice\" checkbox and submit.</instructions>" +
		"<field var='FORM_TYPE' type='hidden'><value>" + nsRequest + "</value></field>" +
		"<field var='muc#role' type='list-single' label='Requested role'><value>participant</value></field>" +
		"<field var='muc#jid' type='jid-single' label='User ID'><value>" + xmppmap.Escape(from.String()) + "</value></field>" +
		"<field var='muc#roomnick' type='text-single' label='Room Nickname'><value>" + xmppmap.Escape(me.Nick) + "</value></field>" +
		"<field var='muc#request_allow' type='boolean' label='Grant voice to this person?'><value>false</value></field></x>")
	body := me.Nick + " asks for voice in " + room.String()
	b.WriteString("<body>" + xmppmap.Escape(body) + "</body>")
	for _, o := range occupants {
		if o.Role != crosstalk.RoleModerator {
			continue
		}
		out := xmppmap.Stanza{Name: "message", Inner: b.Bytes()}
		out.SetAttr("from", room.String())
		out.SetAttr("to", o.RealAddress.String())
		m := &crosstalk.Message{From: room, To: o.RealAddress, Type: crosstalk.MessageNormal, Body: body,
			Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: out.Bytes()}}
		if err := rooms.RouteMessage(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
