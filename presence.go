package crosstalk

import "time"

// PresenceType says what a presence value means.
type PresenceType uint8

// Presence types (RFC 6121 §4.7.1 and §3).
const (
	PresenceAvailable PresenceType = iota
	PresenceUnavailable
	PresenceSubscribe
	PresenceSubscribed
	PresenceUnsubscribe
	PresenceUnsubscribed
	PresenceProbe
	PresenceError
)

// Show is the availability sub-state of an available endpoint.
type Show uint8

// Show values (RFC 6121 §4.7.2.1); ShowNone is plain available.
const (
	ShowNone Show = iota
	ShowChat
	ShowAway
	ShowXA
	ShowDND
)

// String returns the RFC 6121 name, or "" for ShowNone.
func (s Show) String() string {
	switch s {
	case ShowChat:
		return "chat"
	case ShowAway:
		return "away"
	case ShowXA:
		return "xa"
	case ShowDND:
		return "dnd"
	default:
		return ""
	}
}

// ParseShow parses an RFC 6121 show value; unknown values are ShowNone.
func ParseShow(s string) Show {
	switch s {
	case "chat":
		return ShowChat
	case "away":
		return ShowAway
	case "xa":
		return ShowXA
	case "dnd":
		return ShowDND
	default:
		return ShowNone
	}
}

// Presence is one endpoint's presence, or a subscription request, probe or
// directed presence between addresses.
type Presence struct {
	// From is the full address of the endpoint (bare for subscriptions).
	From Address
	// To is zero for a broadcast, set for directed presence, probes and
	// subscription stanzas.
	To       Address
	Type     PresenceType
	Show     Show
	Status   string
	Priority int8
	Time     time.Time
	// Occupant is set on presence from a room (room@service/nick): the
	// occupant's role, affiliation and status codes (XEP-0045 §7.2.3).
	Occupant *OccupantInfo
	// Join is set by a frontend on presence to a room that asks to join it
	// (the room password and the history wanted).
	Join *RoomJoin
	// Native is the original payload, kept for same-protocol delivery.
	Native Native
}

// Available reports whether p says its endpoint is online.
func (p *Presence) Available() bool { return p.Type == PresenceAvailable }
