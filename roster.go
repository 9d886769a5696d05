package crosstalk

// Subscription is the RFC 6121 subscription state of a roster item from the
// owner's point of view.
type Subscription uint8

// Subscription states (RFC 6121 §2.1.2.5).
const (
	SubscriptionNone Subscription = iota // neither way
	SubscriptionTo                       // the owner sees the contact's presence
	SubscriptionFrom                     // the contact sees the owner's presence
	SubscriptionBoth                     // both ways
)

// String returns the RFC 6121 name: none, to, from or both.
func (s Subscription) String() string {
	switch s {
	case SubscriptionTo:
		return "to"
	case SubscriptionFrom:
		return "from"
	case SubscriptionBoth:
		return "both"
	default:
		return "none"
	}
}

// ParseSubscription parses an RFC 6121 subscription name; unknown names are
// none.
func ParseSubscription(s string) Subscription {
	switch s {
	case "to":
		return SubscriptionTo
	case "from":
		return SubscriptionFrom
	case "both":
		return SubscriptionBoth
	default:
		return SubscriptionNone
	}
}

// SubscriptionState is the full state of one roster relationship, including
// the pending flags and pre-approval of RFC 6121 §3.1 and Appendix A.
type SubscriptionState struct {
	Subscription Subscription
	// PendingOut: the owner asked to see the contact's presence (ask="subscribe").
	PendingOut bool
	// PendingIn: the contact asked to see the owner's presence, unanswered.
	PendingIn bool
	// PreApproved: the owner approved a subscription before it was asked (§3.4).
	PreApproved bool
}

// RosterItem is one contact in an account's roster.
type RosterItem struct {
	Contact Address
	Name    string
	Groups  []string
	SubscriptionState
	// Version is the roster version at which this item last changed.
	Version int64
}

// Roster is an account's contact list with its version (XEP-0237). It is the
// single source for the XMPP roster, the XCAP documents and the API's
// contacts.
type Roster struct {
	Version int64
	Items   []RosterItem
}
