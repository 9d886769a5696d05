package crosstalk

import "sync"

// PresenceObserver is told when an account's aggregated presence or its
// roster may have changed, so a frontend can keep views of them that are
// not endpoints: SIP presence subscriptions (RFC 6665, RFC 3856), watcher
// information (RFC 3857) and resource lists (RFC 4662). Both methods are
// called from the hub's own goroutines and must neither block nor call back
// into the hub before returning; the observer reads the new state later
// (Aggregate, Roster).
type PresenceObserver interface {
	// PresenceChanged says that an endpoint of owner (a bare address)
	// changed its presence.
	PresenceChanged(owner Address)
	// RosterChanged says that owner's roster changed (an item was added,
	// removed, or its subscription state moved), its blocklist did, or the
	// account was deleted.
	RosterChanged(owner Address)
}

// PresenceSource is an Endpoint that only contributes presence, such as a
// SIP publication (RFC 3903): the hub aggregates and fans out its presence
// like any endpoint's, but routes no messages to it and sends it no initial
// presence, pending subscription requests or offline messages. What else it
// is given (presence of others, roster pushes) it may ignore.
type PresenceSource interface {
	Endpoint
	// PresenceOnly marks the endpoint as a presence source.
	PresenceOnly()
}

// observerSet holds the hub's observers; its own mutex, never held while an
// observer runs.
type observerSet struct {
	mu   sync.RWMutex
	list []PresenceObserver
}

// Observe adds an observer of presence and roster changes. Frontends call
// it once, when they are built.
func (h *Hub) Observe(o PresenceObserver) {
	h.obs.mu.Lock()
	h.obs.list = append(h.obs.list, o)
	h.obs.mu.Unlock()
}

func (s *observerSet) snapshot() []PresenceObserver {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.list
}

func (s *observerSet) presenceChanged(owner Address) {
	for _, o := range s.snapshot() {
		o.PresenceChanged(owner)
	}
}

func (s *observerSet) rosterChanged(owner Address) {
	for _, o := range s.snapshot() {
		o.RosterChanged(owner)
	}
}

// CopyTaker is an Endpoint that takes copies of its own account's
// messages handled through another protocol: what the account sends from
// there (Message.SentCopy) and what it receives only there
// (Message.ReceivedCopy). An XMPP session with carbons enabled (XEP-0280)
// is one. Endpoints that do not implement it get none.
type CopyTaker interface {
	Endpoint
	// TakesCopies reports whether the endpoint wants copies now. It must
	// not block or call into the hub.
	TakesCopies() bool
}

// isPresenceSource reports whether ep only contributes presence.
func isPresenceSource(ep Endpoint) bool {
	_, ok := ep.(PresenceSource)
	return ok
}
