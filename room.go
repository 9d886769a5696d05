package crosstalk

import "time"

// Affiliation is a long-lived relation between an address and a room
// (XEP-0045 §5.2).
type Affiliation uint8

// Affiliations, from least to most privileged, outcast apart.
const (
	AffiliationNone Affiliation = iota
	AffiliationOutcast
	AffiliationMember
	AffiliationAdmin
	AffiliationOwner
)

// String returns the XEP-0045 name.
func (a Affiliation) String() string {
	switch a {
	case AffiliationOutcast:
		return "outcast"
	case AffiliationMember:
		return "member"
	case AffiliationAdmin:
		return "admin"
	case AffiliationOwner:
		return "owner"
	default:
		return "none"
	}
}

// ParseAffiliation parses an XEP-0045 affiliation; unknown names are none.
func ParseAffiliation(s string) Affiliation {
	switch s {
	case "outcast":
		return AffiliationOutcast
	case "member":
		return AffiliationMember
	case "admin":
		return AffiliationAdmin
	case "owner":
		return AffiliationOwner
	default:
		return AffiliationNone
	}
}

// Role is an occupant's role for one visit (XEP-0045 §5.1).
type Role uint8

// Roles.
const (
	RoleNone Role = iota
	RoleVisitor
	RoleParticipant
	RoleModerator
)

// String returns the XEP-0045 name.
func (r Role) String() string {
	switch r {
	case RoleVisitor:
		return "visitor"
	case RoleParticipant:
		return "participant"
	case RoleModerator:
		return "moderator"
	default:
		return "none"
	}
}

// WhoIs says who may see occupants' real addresses.
type WhoIs uint8

// WhoIs values (muc#roomconfig_whois).
const (
	WhoIsModerators WhoIs = iota
	WhoIsAnyone
)

// RoomConfig is a room's configuration (XEP-0045 §10.2).
type RoomConfig struct {
	Name          string
	Description   string
	Persistent    bool
	MembersOnly   bool
	Moderated     bool
	Public        bool
	Password      string
	MaxOccupants  int
	HistoryLength int
	WhoIs         WhoIs
	// OccupantsChangeSubject lets participants, not only moderators, change
	// the subject (muc#roomconfig_changesubject).
	OccupantsChangeSubject bool
}

// Occupant is one participant present in a room, on any protocol.
type Occupant struct {
	Nick        string
	RealAddress Address
	Role        Role
	Affiliation Affiliation
}

// Room is a group chat shared by XMPP MUC and SIP pager-mode occupants.
type Room struct {
	// Address is the room's bare address (room@conference.domain).
	Address Address
	Config  RoomConfig
	Subject string
	// Affiliations maps bare addresses to their affiliation; absent means none.
	Affiliations map[Address]Affiliation
	Created      time.Time
	// Locked is set on a live room created locked (HubConfig.LockNewRooms)
	// until its owner configures it; it is never stored.
	Locked bool
}
