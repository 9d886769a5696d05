package muc

import (
	"bytes"
	"strconv"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Extra namespaces of room discovery.
const (
	nsRoomInfo   = "http://jabber.org/protocol/muc#roominfo"
	nsOccupantID = "urn:xmpp:occupant-id:0"
	nsSelfPing   = "http://jabber.org/protocol/muc#self-ping-optimization"
	nsMAM        = "urn:xmpp:mam:2"
	nsData       = "jabber:x:data"
)

// roomInfoForm renders the muc#roominfo extended information of a room
// (XEP-0045 §15.5.4, XEP-0128): description, occupant count, subject, name
// and history length.
func roomInfoForm(r crosstalk.Room, occupants int) []byte {
	var b bytes.Buffer
	field := func(name, label, value string) {
		b.WriteString("<field var='" + name + "'")
		if label != "" {
			b.WriteString(" label='" + label + "'")
		}
		b.WriteString("><value>" + xmppmap.Escape(value) + "</value></field>")
	}
	bit := "0"
	if r.Config.OccupantsChangeSubject {
		bit = "1"
	}
	b.WriteString("<x xmlns='" + nsData + "' type='result'>")
	b.WriteString("<field var='FORM_TYPE' type='hidden'><value>" + nsRoomInfo + "</value></field>")
	field("muc#roominfo_description", "Description", r.Config.Description)
	field("muc#roominfo_occupants", "Number of occupants", strconv.Itoa(occupants))
	field("muc#roominfo_subject", "Subject", r.Subject)
	field("muc#roominfo_subjectmod", "Occupants may change the subject", bit)
	field("muc#roomconfig_roomname", "Name", roomName(r))
	field("muc#maxhistoryfetch", "Maximum number of history messages returned by the room", strconv.Itoa(r.Config.HistoryLength))
	b.WriteString("</x>")
	return b.Bytes()
}

// roomName is the configured name, or the room's local part.
func roomName(r crosstalk.Room) string {
	if r.Config.Name != "" {
		return r.Config.Name
	}
	return r.Address.Local()
}
