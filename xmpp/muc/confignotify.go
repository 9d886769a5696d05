package muc

import (
	"context"
	"strconv"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// configCodes returns the status codes that announce a configuration
// change to the occupants (XEP-0045 §10.2.1): 104 for any change, 172 or
// 173 when real JIDs become visible to everyone or stop being; none when
// nothing changed (an instant room accepted as it is).
func configCodes(before, after crosstalk.RoomConfig) []int {
	if before == after {
		return nil
	}
	codes := []int{104}
	switch {
	case before.WhoIs != after.WhoIs && after.WhoIs == crosstalk.WhoIsAnyone:
		codes = append(codes, 172)
	case before.WhoIs != after.WhoIs:
		codes = append(codes, 173)
	}
	return codes
}

// notifyConfig tells every occupant that the room's configuration changed,
// with a groupchat message from the room carrying the status codes. It is
// best effort: the configuration is already applied, and an occupant that
// cannot be reached is leaving anyway.
func notifyConfig(ctx context.Context, rooms Rooms, room crosstalk.Address, codes []int) {
	if len(codes) == 0 {
		return
	}
	_, occupants, err := rooms.RoomState(ctx, room)
	if err != nil {
		return
	}
	inner := "<x xmlns='" + xmppmap.NSMUCUser + "'>"
	for _, c := range codes {
		inner += "<status code='" + strconv.Itoa(c) + "'/>"
	}
	inner += "</x>"
	for _, o := range occupants {
		out := xmppmap.Stanza{Name: "message", Inner: []byte(inner)}
		out.SetAttr("from", room.String())
		out.SetAttr("to", o.RealAddress.String())
		out.SetAttr("type", "groupchat")
		m := &crosstalk.Message{From: room, To: o.RealAddress, Type: crosstalk.MessageGroupchat,
			Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: out.Bytes()}}
		_ = rooms.RouteMessage(ctx, m) // best effort, see above
	}
}
