package crosstalk

// SubscriptionEvent is a subscription stanza as seen by one side of a
// relationship: Out* is what the owner sends, In* what the contact sends.
type SubscriptionEvent uint8

// Subscription events (RFC 6121 Appendix A).
const (
	OutSubscribe    SubscriptionEvent = iota // A.2.1: the owner asks to see the contact
	OutUnsubscribe                           // A.2.2: the owner stops seeing the contact
	OutSubscribed                            // A.3.1: the owner lets the contact see it
	OutUnsubscribed                          // A.3.2: the owner stops the contact seeing it
	InSubscribe                              // A.4.1: the contact asks to see the owner
	InUnsubscribe                            // A.4.2: the contact stops seeing the owner
	InSubscribed                             // A.5.1: the contact lets the owner see it
	InUnsubscribed                           // A.5.2: the contact stops the owner seeing it
)

// SubscriptionEffect says what the server does after applying an event.
type SubscriptionEffect struct {
	// Changed: the state changed; store the item and push it to the owner.
	Changed bool
	// Forward: for Out* events, route the stanza to the contact; for In*
	// events, deliver it to the owner's endpoints.
	Forward bool
	// AutoSubscribed: for InSubscribe, answer the contact with 'subscribed'
	// on the owner's behalf (already approved or pre-approved).
	AutoSubscribed bool
}

// Apply is the RFC 6121 subscription state machine as a pure function: it
// returns the state after ev and what the server must do. States and events
// are those of Appendix A; pre-approval follows §3.4.
func (s SubscriptionState) Apply(ev SubscriptionEvent) (SubscriptionState, SubscriptionEffect) {
	n := s
	var eff SubscriptionEffect
	to := s.Subscription == SubscriptionTo || s.Subscription == SubscriptionBoth
	from := s.Subscription == SubscriptionFrom || s.Subscription == SubscriptionBoth
	switch ev {
	case OutSubscribe:
		eff.Forward = true
		if !to {
			n.PendingOut = true
		}
	case OutUnsubscribe:
		eff.Forward = true
		n.PendingOut = false
		n.Subscription = compose(false, from)
	case OutSubscribed:
		switch {
		case from:
		case s.PendingIn:
			n.PendingIn = false
			n.PreApproved = false
			n.Subscription = compose(to, true)
			eff.Forward = true
		default:
			n.PreApproved = true // §3.4: approve before being asked
		}
	case OutUnsubscribed:
		n.PreApproved = false
		if from || s.PendingIn {
			eff.Forward = true
		}
		n.PendingIn = false
		n.Subscription = compose(to, false)
	case InSubscribe:
		switch {
		case from:
			eff.AutoSubscribed = true
		case s.PreApproved:
			n.PreApproved = false
			n.PendingIn = false
			n.Subscription = compose(to, true)
			eff.AutoSubscribed = true
		case !s.PendingIn:
			n.PendingIn = true
			eff.Forward = true
		}
	case InUnsubscribe:
		if from || s.PendingIn {
			eff.Forward = true
		}
		n.PendingIn = false
		n.Subscription = compose(to, false)
	case InSubscribed:
		if s.PendingOut && !to {
			n.PendingOut = false
			n.Subscription = compose(true, from)
			eff.Forward = true
		}
	case InUnsubscribed:
		if to || s.PendingOut {
			eff.Forward = true
		}
		n.PendingOut = false
		n.Subscription = compose(false, from)
	}
	eff.Changed = n != s
	return n, eff
}

func compose(to, from bool) Subscription {
	switch {
	case to && from:
		return SubscriptionBoth
	case to:
		return SubscriptionTo
	case from:
		return SubscriptionFrom
	default:
		return SubscriptionNone
	}
}

// SeesOwner reports whether the contact receives the owner's presence.
func (s SubscriptionState) SeesOwner() bool {
	return s.Subscription == SubscriptionFrom || s.Subscription == SubscriptionBoth
}

// OwnerSees reports whether the owner receives the contact's presence.
func (s SubscriptionState) OwnerSees() bool {
	return s.Subscription == SubscriptionTo || s.Subscription == SubscriptionBoth
}
