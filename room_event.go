package crosstalk

import "time"

// Room status codes carried in an occupant's presence (XEP-0045 §15.6),
// which frontends render as <status code=…/> or as text for SIP occupants.
const (
	// RoomStatusNonAnonymous: every occupant may see real addresses.
	RoomStatusNonAnonymous = 100
	// RoomStatusSelf: the presence is the receiver's own.
	RoomStatusSelf = 110
	// RoomStatusCreated: the join created the room.
	RoomStatusCreated = 201
	// RoomStatusNickAssigned: the service changed the requested nickname.
	RoomStatusNickAssigned = 210
	// RoomStatusBanned: the occupant left because it was banned.
	RoomStatusBanned = 301
	// RoomStatusNickChanged: the occupant left its old nickname for
	// OccupantInfo.NewNick.
	RoomStatusNickChanged = 303
	// RoomStatusKicked: the occupant left because it was kicked.
	RoomStatusKicked = 307
	// RoomStatusAffiliationChanged: the occupant left because of an
	// affiliation change (it lost membership of a members-only room).
	RoomStatusAffiliationChanged = 321
	// RoomStatusShutdown: the occupant left because the room was destroyed
	// or the service is stopping.
	RoomStatusShutdown = 332
)

// OccupantInfo is what a room's presence says about one of its occupants
// (XEP-0045 §7.2.3): set on a *Presence sent from room@service/nick.
type OccupantInfo struct {
	Role        Role
	Affiliation Affiliation
	// RealAddress is the occupant's full address, zero unless the receiver
	// may see it (a non-anonymous room, or a moderator receiving).
	RealAddress Address
	// OccupantID is the stable anonymous id of XEP-0421.
	OccupantID string
	// Codes are the status codes (RoomStatus…) that apply.
	Codes []int
	// NewNick is the occupant's new nickname with RoomStatusNickChanged.
	NewNick string
	// Reason is the reason given for a kick, ban or role change.
	Reason string
}

// HasCode reports whether the status code is among Codes.
func (o *OccupantInfo) HasCode(code int) bool {
	for _, c := range o.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// RoomJoin is what a presence to room@service/nick adds when it asks to
// join: the frontend sets it from XEP-0045's <x xmlns='…muc'/> or from a SIP
// occupant's first message.
type RoomJoin struct {
	Password string
	// MaxStanzas limits the history sent on join; < 0 means the room's
	// default, 0 none.
	MaxStanzas int
	// Since, when set, sends only history newer than it.
	Since time.Time
	// Configurable says the joiner can configure the room it creates
	// (XEP-0045 muc#owner), so that with HubConfig.LockNewRooms the room
	// stays locked until it does.
	Configurable bool
}
