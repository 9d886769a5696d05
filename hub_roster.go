package crosstalk

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
)

var (
	outEvents = map[PresenceType]SubscriptionEvent{PresenceSubscribe: OutSubscribe, PresenceSubscribed: OutSubscribed, PresenceUnsubscribe: OutUnsubscribe, PresenceUnsubscribed: OutUnsubscribed}
	inEvents  = map[PresenceType]SubscriptionEvent{PresenceSubscribe: InSubscribe, PresenceSubscribed: InSubscribed, PresenceUnsubscribe: InUnsubscribe, PresenceUnsubscribed: InUnsubscribed}
)

// subscription runs a subscription stanza through the state machine on the
// sender's roster (outbound) and, when it is forwarded, on the recipient's
// (inbound) or federation.
func (h *Hub) subscription(ctx context.Context, p *Presence) error {
	from, to := p.From.Bare(), p.To.Bare()
	if to.IsZero() || to == from {
		return fmt.Errorf("subscription from %s: %w: no contact", from, ErrInvalidAddress)
	}
	stanza := &Presence{From: from, To: to, Type: p.Type, Status: p.Status, Time: p.Time, Native: p.Native}
	if h.IsLocal(from) {
		item, eff, err := h.applySubscription(ctx, from, to, outEvents[p.Type], true)
		if err != nil {
			return err
		}
		if !eff.Forward {
			return nil
		}
		defer h.afterApproval(ctx, from, to, p.Type, item)
	}
	return h.inbound(ctx, stanza)
}

// inbound delivers a subscription stanza to its recipient's side.
func (h *Hub) inbound(ctx context.Context, p *Presence) error {
	if !h.IsLocal(p.To) {
		return h.routeRemote(ctx, p)
	}
	if _, err := h.store.GetAccount(ctx, p.To); err != nil {
		if errors.Is(err, ErrNoSuchAccount) && p.Type == PresenceSubscribe {
			// §3.1.3: answer for an account that does not exist.
			return h.inbound(ctx, &Presence{From: p.To, To: p.From, Type: PresenceUnsubscribed, Time: h.now()})
		}
		return fmt.Errorf("subscription to %s: %w", p.To, err)
	}
	item, eff, err := h.applySubscription(ctx, p.To, p.From, inEvents[p.Type], false)
	if err != nil {
		return err
	}
	if eff.Forward {
		h.presenceTo(ctx, p, p.To)
	}
	if eff.AutoSubscribed {
		h.afterApproval(ctx, p.To, p.From, PresenceSubscribed, item)
		return h.inbound(ctx, &Presence{From: p.To, To: p.From, Type: PresenceSubscribed, Time: h.now()})
	}
	return nil
}

// afterApproval sends the approver's presence to a contact it has just let
// see it, or unavailable to one it has just stopped (RFC 6121 §3.1.5, §3.2.2).
func (h *Hub) afterApproval(ctx context.Context, owner, contact Address, t PresenceType, item RosterItem) {
	switch {
	case t == PresenceSubscribed && item.SeesOwner():
		for _, p := range h.PresenceOf(owner) {
			h.presenceTo(ctx, p, contact)
		}
	case t == PresenceUnsubscribed && !item.SeesOwner():
		for _, p := range h.PresenceOf(owner) {
			h.presenceTo(ctx, &Presence{From: p.From, Type: PresenceUnavailable, Time: h.now()}, contact)
		}
	}
}

// applySubscription applies one event to owner's item for contact, stores
// and pushes the change. Outbound subscribe and pre-approval create the item
// when missing (§3.1.2, §3.4); so does an inbound subscribe, kept as a
// pending request.
func (h *Hub) applySubscription(ctx context.Context, owner, contact Address, ev SubscriptionEvent, outbound bool) (RosterItem, SubscriptionEffect, error) {
	defer h.lockRoster(owner)()
	item, err := h.store.GetRosterItem(ctx, owner, contact)
	switch {
	case errors.Is(err, ErrNotFound):
		item = RosterItem{Contact: contact}
	case err != nil:
		return RosterItem{}, SubscriptionEffect{}, fmt.Errorf("subscription of %s to %s: %w", owner, contact, err)
	}
	next, eff := item.SubscriptionState.Apply(ev)
	if !eff.Changed {
		return item, eff, nil
	}
	item.SubscriptionState = next
	if err := h.putItem(ctx, owner, item); err != nil {
		return RosterItem{}, SubscriptionEffect{}, err
	}
	return item, eff, nil
}

// lockRoster serialises the read-modify-write changes of one owner's
// roster items (subscription events arriving from both parties at once,
// roster sets) and returns the unlock. Lock order: a roster stripe before
// Hub.mu; never two stripes at once.
func (h *Hub) lockRoster(owner Address) func() {
	m := &h.rosterLocks[maphash.String(h.rosterSeed, owner.String())%uint64(len(h.rosterLocks))]
	m.Lock()
	return m.Unlock
}

// putItem stores a roster item and pushes it to the owner's endpoints.
func (h *Hub) putItem(ctx context.Context, owner Address, item RosterItem) error {
	v, err := h.store.PutRosterItem(ctx, owner, item)
	if err != nil {
		return fmt.Errorf("roster of %s: %w", owner, err)
	}
	item.Version = v
	h.rosterChanged(owner)
	h.push(ctx, &RosterPush{Owner: owner, Item: item, Version: v})
	return nil
}

func (h *Hub) push(ctx context.Context, rp *RosterPush) {
	for _, b := range h.snapshot(rp.Owner) {
		h.deliver(ctx, b, rp)
	}
}

// Roster returns an account's roster; callers must not modify its items
// (while the account is online, the hub keeps it, see loadRoster).
func (h *Hub) Roster(ctx context.Context, owner Address) (Roster, error) {
	return h.loadRoster(ctx, owner.Bare())
}

// SetRosterItem adds or updates a contact's name and groups; the
// subscription fields are the server's and are kept (RFC 6121 §2.1.2.5). The
// change is pushed to the owner's endpoints.
func (h *Hub) SetRosterItem(ctx context.Context, owner Address, item RosterItem) error {
	owner = owner.Bare()
	item.Contact = item.Contact.Bare()
	if item.Contact.IsZero() || item.Contact == owner {
		return fmt.Errorf("roster item %s: %w", item.Contact, ErrInvalidAddress)
	}
	defer h.lockRoster(owner)()
	old, err := h.store.GetRosterItem(ctx, owner, item.Contact)
	switch {
	case err == nil:
		item.SubscriptionState = old.SubscriptionState
	case errors.Is(err, ErrNotFound):
		item.SubscriptionState = SubscriptionState{}
	default:
		return fmt.Errorf("roster of %s: %w", owner, err)
	}
	return h.putItem(ctx, owner, item)
}

// RemoveRosterItem removes a contact, cancelling the subscriptions both ways
// first (RFC 6121 §2.5.2), and pushes the removal.
func (h *Hub) RemoveRosterItem(ctx context.Context, owner, contact Address) error {
	owner, contact = owner.Bare(), contact.Bare()
	item, err := h.store.GetRosterItem(ctx, owner, contact)
	if err != nil {
		return fmt.Errorf("roster of %s: %w", owner, err)
	}
	if item.OwnerSees() || item.PendingOut {
		if err := h.subscription(ctx, &Presence{From: owner, To: contact, Type: PresenceUnsubscribe, Time: h.now()}); err != nil {
			h.log.Debug().Err(err).Msg("unsubscribe on roster removal")
		}
	}
	if item.SeesOwner() || item.PendingIn {
		if err := h.subscription(ctx, &Presence{From: owner, To: contact, Type: PresenceUnsubscribed, Time: h.now()}); err != nil {
			h.log.Debug().Err(err).Msg("unsubscribed on roster removal")
		}
	}
	unlock := h.lockRoster(owner)
	v, err := h.store.DeleteRosterItem(ctx, owner, contact)
	unlock()
	if err != nil {
		return fmt.Errorf("roster of %s: %w", owner, err)
	}
	h.rosterChanged(owner)
	h.push(ctx, &RosterPush{Owner: owner, Item: RosterItem{Contact: contact, Version: v}, Removed: true, Version: v})
	return nil
}

// CreateAccount creates a local account with credentials derived from
// password.
func (h *Hub) CreateAccount(ctx context.Context, addr Address, password string, iterations int) error {
	addr = addr.Bare()
	if !h.IsLocal(addr) {
		return fmt.Errorf("account %s: %w: domain not served here", addr, ErrInvalidAddress)
	}
	c, err := NewCredentials(addr, password, iterations)
	if err != nil {
		return fmt.Errorf("account %s: %w", addr, err)
	}
	return h.store.CreateAccount(ctx, Account{Address: addr, Credentials: c, Created: h.now()})
}

// SetPassword replaces an account's credentials and ends its live sessions
// with ErrAccountGone, so that they must log in again.
func (h *Hub) SetPassword(ctx context.Context, addr Address, password string, iterations int) error {
	addr = addr.Bare()
	c, err := NewCredentials(addr, password, iterations)
	if err != nil {
		return fmt.Errorf("account %s: %w", addr, err)
	}
	if err := h.store.SetCredentials(ctx, addr, c); err != nil {
		return err
	}
	h.Disconnect(ctx, addr, ErrAccountGone)
	return nil
}

// DeleteAccount ends an account's live sessions with ErrAccountGone and
// deletes it with everything it owns.
func (h *Hub) DeleteAccount(ctx context.Context, addr Address) error {
	addr = addr.Bare()
	h.Disconnect(ctx, addr, ErrAccountGone)
	h.lastW.forget(addr)   // nor a recorded last activity
	if h.archiver != nil { // no queued archive entry may outlive the account
		if err := h.archiver.sync(ctx); err != nil {
			return fmt.Errorf("delete %s: %w", addr, err)
		}
	}
	if err := h.store.DeleteAccount(ctx, addr); err != nil {
		return err
	}
	// The roster is gone with the account, and so are the items of
	// others that named it: drop every cached roster and watcher list
	// (rare).
	h.mu.Lock()
	for _, acct := range h.accounts {
		acct.watchers, acct.roster = nil, nil
		acct.rosterGen++
	}
	h.mu.Unlock()
	h.obs.rosterChanged(addr)
	return nil
}
