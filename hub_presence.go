package crosstalk

import (
	"context"
	"fmt"
)

// SetPresence takes presence from an endpoint (RFC 6121 §4): a broadcast
// (To zero) of available or unavailable presence, directed presence (To
// set), a probe, or a subscription stanza (§3), which runs the subscription
// state machine on both rosters.
//
// The first available broadcast of an endpoint is its initial presence: the
// hub then sends it the presence of the contacts it sees and of the
// account's other endpoints, re-sends pending subscription requests, and
// delivers the offline messages.
func (h *Hub) SetPresence(ctx context.Context, p *Presence) error {
	if p.Time.IsZero() {
		p.Time = h.now()
	}
	switch p.Type {
	case PresenceSubscribe, PresenceSubscribed, PresenceUnsubscribe, PresenceUnsubscribed:
		return h.subscription(ctx, p)
	case PresenceProbe:
		return h.probe(ctx, p)
	case PresenceError:
		if b := h.lookup(p.To); b != nil {
			h.deliver(ctx, b, p)
		}
		return nil
	}
	if !p.To.IsZero() && h.isRoomDomain(p.To.Domain()) {
		return h.roomPresence(ctx, p)
	}
	if !p.To.IsZero() {
		return h.directed(ctx, p)
	}
	b := h.lookup(p.From)
	if b == nil {
		return fmt.Errorf("presence from %s: %w: not bound", p.From, ErrNotFound)
	}
	h.mu.Lock()
	initial := b.presence == nil && p.Available()
	var g gone
	if p.Available() {
		b.presence = p
	} else {
		g = gone{addr: b.addr, available: b.presence != nil, directed: b.directedList()}
		b.presence = nil
		b.directed = nil
	}
	h.mu.Unlock()
	if !p.Available() {
		if g.available {
			h.fanout(ctx, p, g.directed)
		}
		h.leaveAllRooms(ctx, p.From) // unavailable leaves rooms (XEP-0045 §7.14)
		return nil
	}
	h.fanout(ctx, p, nil)
	if initial && !isPresenceSource(b.ep) {
		h.initialPresence(ctx, b)
	}
	return nil
}

// broadcastUnavailable tells everyone who saw an endpoint that it is gone.
func (h *Hub) broadcastUnavailable(ctx context.Context, g gone) {
	h.fanoutTo(ctx, &Presence{From: g.addr, Type: PresenceUnavailable, Time: h.now()}, g.watchers, g.directed)
}

// fanout sends an endpoint's presence to the account's watchers (roster
// items with from/both), its other endpoints, and extra addresses.
func (h *Hub) fanout(ctx context.Context, p *Presence, extra []Address) {
	h.fanoutTo(ctx, p, nil, extra)
}

// fanoutTo is fanout with the watchers given when known (non-nil), so that
// the last endpoint's unavailable presence does not read the roster again
// once the account's cache went with its record.
func (h *Hub) fanoutTo(ctx context.Context, p *Presence, watchers, extra []Address) {
	owner := p.From.Bare()
	h.obs.presenceChanged(owner)
	if watchers == nil {
		watchers = h.watchers(ctx, owner)
	}
	for _, w := range watchers {
		h.presenceTo(ctx, p, w)
	}
	for _, b := range h.snapshot(owner) {
		if b.addr != p.From && h.isAvailable(b) {
			h.deliver(ctx, b, p)
		}
	}
	for _, a := range extra {
		h.presenceTo(ctx, p, a)
	}
}

// presenceTo delivers presence to an address: a full address's endpoint,
// every available endpoint of a bare address, or federation.
func (h *Hub) presenceTo(ctx context.Context, p *Presence, to Address) {
	if !h.IsLocal(to) {
		remote := *p
		remote.To = to
		if err := h.routeRemote(ctx, &remote); err != nil {
			h.log.Debug().Err(err).Str("to", to.String()).Msg("presence to a remote address not sent")
		}
		return
	}
	if !to.IsBare() {
		if b := h.lookup(to); b != nil {
			h.deliver(ctx, b, p)
		}
		return
	}
	for _, b := range h.snapshot(to) {
		if h.isAvailable(b) {
			h.deliver(ctx, b, p)
		}
	}
}

func (h *Hub) isAvailable(b *binding) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return b.presence != nil
}

// watchers returns the cached list of addresses that see owner's presence,
// loading it from the roster when needed.
func (h *Hub) watchers(ctx context.Context, owner Address) []Address {
	h.mu.RLock()
	acct := h.accounts[owner]
	var cached []Address
	var gen uint64
	if acct != nil {
		cached, gen = acct.watchers, acct.rosterGen
	}
	h.mu.RUnlock()
	if cached != nil {
		return cached
	}
	roster, err := h.loadRoster(ctx, owner)
	if err != nil {
		h.log.Error().Err(err).Str("jid", owner.String()).Msg("loading the roster for presence failed")
		return nil
	}
	list := make([]Address, 0, len(roster.Items))
	for _, it := range roster.Items {
		if it.SeesOwner() {
			list = append(list, it.Contact)
		}
	}
	h.mu.Lock()
	if a := h.accounts[owner]; a != nil && a == acct && a.rosterGen == gen {
		a.watchers = list
	}
	h.mu.Unlock()
	return list
}

// loadRoster returns owner's roster: while the account is online, from
// the hub's copy, loaded once (a login reads it up to three times: the
// client's roster get, initial presence and the watchers of its
// presence); otherwise from the store. Callers must not modify the items.
func (h *Hub) loadRoster(ctx context.Context, owner Address) (Roster, error) {
	h.mu.RLock()
	acct := h.accounts[owner]
	var gen uint64
	if acct != nil {
		if r := acct.roster; r != nil {
			h.mu.RUnlock()
			return *r, nil
		}
		gen = acct.rosterGen
	}
	h.mu.RUnlock()
	roster, err := h.store.GetRoster(ctx, owner)
	if err != nil || acct == nil {
		return roster, err
	}
	h.mu.Lock()
	if a := h.accounts[owner]; a == acct && a.rosterGen == gen {
		a.roster = &roster
	}
	h.mu.Unlock()
	return roster, nil
}

// rosterChanged drops the cached roster and watchers of owner.
func (h *Hub) rosterChanged(owner Address) {
	h.mu.Lock()
	if acct := h.accounts[owner]; acct != nil {
		acct.watchers, acct.roster = nil, nil
		acct.rosterGen++
	}
	h.mu.Unlock()
	h.obs.rosterChanged(owner)
}

// initialPresence sends a newly available endpoint what it needs (RFC 6121
// §4.2.2 and §3.1.3).
func (h *Hub) initialPresence(ctx context.Context, b *binding) {
	owner := b.addr.Bare()
	for _, other := range h.snapshot(owner) {
		if other != b {
			if p := h.currentPresence(other); p != nil {
				h.deliver(ctx, b, p)
			}
		}
	}
	roster, err := h.loadRoster(ctx, owner)
	if err != nil {
		h.log.Error().Err(err).Str("jid", b.addr.String()).Msg("loading the roster at initial presence failed")
	}
	for _, it := range roster.Items {
		if it.OwnerSees() {
			if h.IsLocal(it.Contact) {
				for _, p := range h.PresenceOf(it.Contact) {
					h.deliver(ctx, b, p)
				}
			} else if err := h.routeRemote(ctx, &Presence{From: owner, To: it.Contact, Type: PresenceProbe, Time: h.now()}); err != nil {
				h.log.Debug().Err(err).Str("to", it.Contact.String()).Msg("probe to a remote contact not sent")
			}
		}
		if it.PendingIn {
			h.deliver(ctx, b, &Presence{From: it.Contact, To: owner, Type: PresenceSubscribe, Time: h.now()})
		}
	}
	h.deliverOffline(ctx, b)
}

func (h *Hub) currentPresence(b *binding) *Presence {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return b.presence
}

// PresenceOf returns the available presences of a bare address's endpoints;
// none means unavailable.
func (h *Hub) PresenceOf(bare Address) []*Presence {
	h.mu.RLock()
	defer h.mu.RUnlock()
	acct := h.accounts[bare.Bare()]
	if acct == nil {
		return nil
	}
	out := make([]*Presence, 0, len(acct.bindings))
	for _, b := range acct.bindings {
		if b.presence != nil {
			out = append(out, b.presence)
		}
	}
	return out
}

// Aggregate returns an account's presence as one value: the available
// presence with the highest priority (the most recent on a tie), or
// unavailable. SIP PIDF and the API show this.
func (h *Hub) Aggregate(bare Address) Presence {
	var best *Presence
	for _, p := range h.PresenceOf(bare) {
		if best == nil || p.Priority > best.Priority || (p.Priority == best.Priority && p.Time.After(best.Time)) {
			best = p
		}
	}
	if best == nil {
		return Presence{From: bare.Bare(), Type: PresenceUnavailable}
	}
	return *best
}

// directed delivers presence to one address and remembers it, so that the
// endpoint's unavailable presence reaches it too (RFC 6121 §4.6).
func (h *Hub) directed(ctx context.Context, p *Presence) error {
	if b := h.lookup(p.From); b != nil {
		h.mu.Lock()
		if p.Available() {
			if b.directed == nil {
				b.directed = make(map[Address]bool)
			}
			b.directed[p.To] = true
		} else {
			delete(b.directed, p.To)
		}
		h.mu.Unlock()
	}
	h.presenceTo(ctx, p, p.To)
	return nil
}

// probe answers a presence probe from the aggregate when the prober may see
// the probed account (RFC 6121 §4.3).
func (h *Hub) probe(ctx context.Context, p *Presence) error {
	target := p.To.Bare()
	if !h.IsLocal(target) {
		return h.routeRemote(ctx, p)
	}
	item, err := h.store.GetRosterItem(ctx, target, p.From.Bare())
	if err != nil || !item.SeesOwner() {
		return nil // not authorised: say nothing (§4.3.2)
	}
	current := h.PresenceOf(target)
	if len(current) == 0 {
		current = []*Presence{{From: target, To: p.From, Type: PresenceUnavailable, Time: h.now()}}
	}
	for _, cp := range current {
		h.presenceTo(ctx, cp, p.From)
	}
	return nil
}
