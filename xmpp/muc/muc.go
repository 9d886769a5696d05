package muc

import (
	"bytes"
	"context"
	"errors"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Namespaces.
const (
	NS      = xmppmap.NSMUC
	NSAdmin = "http://jabber.org/protocol/muc#admin"
	NSOwner = "http://jabber.org/protocol/muc#owner"
	nsInfo  = "http://jabber.org/protocol/disco#info"
	nsItems = "http://jabber.org/protocol/disco#items"
)

// Rooms is what the handlers need of the hub.
type Rooms interface {
	RoomState(ctx context.Context, room crosstalk.Address) (crosstalk.Room, []crosstalk.Occupant, error)
	PublicRooms(ctx context.Context, service string) ([]crosstalk.Room, error)
	SetRoomRole(ctx context.Context, room, actor crosstalk.Address, nick string, role crosstalk.Role, reason string) error
	SetRoomAffiliation(ctx context.Context, room, actor, target crosstalk.Address, aff crosstalk.Affiliation, reason string) error
	ConfigureRoom(ctx context.Context, room, actor crosstalk.Address, cfg crosstalk.RoomConfig) error
	DestroyRoom(ctx context.Context, room, actor crosstalk.Address, reason string) error
	// RouteMessage sends the room's own notices (configuration changes).
	RouteMessage(ctx context.Context, m *crosstalk.Message) error
}

// Handle returns the registrations for room services and rooms.
func Handle(rooms Rooms) []feature.Registration {
	return []feature.Registration{
		{Space: nsInfo, Local: "query", Types: feature.Get, Target: feature.RoomService, Features: []string{NS, nsOccupantID, nsMAM}, Handle: serviceInfo},
		{Space: nsItems, Local: "query", Types: feature.Get, Target: feature.RoomService, Handle: serviceItems(rooms)},
		{Space: nsInfo, Local: "query", Types: feature.Get, Target: feature.Room, Handle: roomInfo(rooms)},
		{Space: nsItems, Local: "query", Types: feature.Get, Target: feature.Room,
			Handle: func(context.Context, feature.IQ) ([]byte, error) {
				return []byte("<query xmlns='" + nsItems + "'/>"), nil
			}},
		{Space: NSAdmin, Local: "query", Types: feature.Set, Target: feature.Room, Handle: admin(rooms)},
		{Space: NSAdmin, Local: "query", Types: feature.Get, Target: feature.Room, Handle: adminList(rooms)},
		{Space: nsPing, Local: "ping", Types: feature.Get, Target: feature.Occupant, Handle: selfPing(rooms)}, // XEP-0410
		{Space: NSOwner, Local: "query", Types: feature.Get | feature.Set, Target: feature.Room, Handle: owner(rooms)},
	}
}

func serviceInfo(context.Context, feature.IQ) ([]byte, error) {
	return []byte("<query xmlns='" + nsInfo + "'><identity category='conference' type='text' name='Chatrooms'/>" +
		"<feature var='" + NS + "'/><feature var='" + nsInfo + "'/><feature var='" + nsItems + "'/>" +
		"<feature var='" + nsOccupantID + "'/><feature var='" + nsMAM + "'/></query>"), nil
}

func serviceItems(rooms Rooms) feature.HandlerFunc {
	return func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		list, err := rooms.PublicRooms(ctx, iq.To.Domain())
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		b.WriteString("<query xmlns='" + nsItems + "'>")
		for _, r := range list {
			b.WriteString("<item jid='" + xmppmap.Escape(r.Address.String()) + "'")
			if r.Config.Name != "" {
				b.WriteString(" name='" + xmppmap.Escape(r.Config.Name) + "'")
			}
			b.WriteString("/>")
		}
		b.WriteString("</query>")
		return b.Bytes(), nil
	}
}

func roomInfo(rooms Rooms) feature.HandlerFunc {
	return func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		r, occupants, err := rooms.RoomState(ctx, iq.To)
		if err != nil {
			if errors.Is(err, crosstalk.ErrNotFound) {
				return nil, feature.ItemNotFound()
			}
			return nil, err
		}
		c := r.Config
		pick := func(on bool, yes, no string) string {
			if on {
				return yes
			}
			return no
		}
		var b bytes.Buffer
		b.WriteString("<query xmlns='" + nsInfo + "'><identity category='conference' type='text' name='" + xmppmap.Escape(roomName(r)) + "'/>")
		for _, f := range []string{NS, pick(c.Persistent, "muc_persistent", "muc_temporary"), pick(c.MembersOnly, "muc_membersonly", "muc_open"),
			pick(c.Moderated, "muc_moderated", "muc_unmoderated"), pick(c.Public, "muc_public", "muc_hidden"),
			pick(c.Password != "", "muc_passwordprotected", "muc_unsecured"),
			pick(c.WhoIs == crosstalk.WhoIsAnyone, "muc_nonanonymous", "muc_semianonymous"), nsOccupantID, nsMAM, xmppmap.NSSID, nsSelfPing} {
			b.WriteString("<feature var='" + f + "'/>")
		}
		b.Write(roomInfoForm(r, len(occupants)))
		b.WriteString("</query>")
		return b.Bytes(), nil
	}
}

type adminQuery struct {
	Items []struct {
		Nick        string `xml:"nick,attr"`
		Role        string `xml:"role,attr"`
		JID         string `xml:"jid,attr"`
		Affiliation string `xml:"affiliation,attr"`
		Reason      string `xml:"reason"`
	} `xml:"http://jabber.org/protocol/muc#admin item"`
}

// admin changes roles (by nick) and affiliations (by jid), XEP-0045 §8–§10.
func admin(rooms Rooms) feature.HandlerFunc {
	return func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		var q adminQuery
		if err := iq.Decode(&q); err != nil {
			return nil, err
		}
		if len(q.Items) == 0 {
			return nil, feature.BadRequest("no item")
		}
		for _, it := range q.Items {
			switch {
			case it.Role != "" && it.Nick != "":
				if err := rooms.SetRoomRole(ctx, iq.To, iq.From, it.Nick, parseRole(it.Role), it.Reason); err != nil {
					return nil, err
				}
			case it.Affiliation != "" && it.JID != "":
				target, err := crosstalk.ParseAddress(it.JID)
				if err != nil {
					return nil, &feature.Error{Type: "modify", Condition: "jid-malformed"}
				}
				if err := rooms.SetRoomAffiliation(ctx, iq.To, iq.From, target, crosstalk.ParseAffiliation(it.Affiliation), it.Reason); err != nil {
					return nil, err
				}
			case it.Affiliation != "" && it.Nick != "": // by nickname (§9.1)
				target, err := realOf(ctx, rooms, iq.To, it.Nick)
				if err != nil {
					return nil, err
				}
				if err := rooms.SetRoomAffiliation(ctx, iq.To, iq.From, target, crosstalk.ParseAffiliation(it.Affiliation), it.Reason); err != nil {
					return nil, err
				}
			default:
				return nil, feature.BadRequest("an item needs nick and role, or jid and affiliation")
			}
		}
		return nil, nil
	}
}

func parseRole(s string) crosstalk.Role {
	switch s {
	case "visitor":
		return crosstalk.RoleVisitor
	case "participant":
		return crosstalk.RoleParticipant
	case "moderator":
		return crosstalk.RoleModerator
	default:
		return crosstalk.RoleNone
	}
}
