package sip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// registrar is the location service: the live bindings per AOR, each a hub
// endpoint. The map is the authority for every lookup; the store
// (crosstalk.Registrations) is written behind it (bindingwriter.go) so a
// restart keeps the bindings.
type registrar struct {
	s *Server
	w *bindingWriter

	mu       sync.Mutex
	bindings map[crosstalk.Address]map[string]*binding // AOR → Registration.Key → binding
	closed   bool
}

func newRegistrar(s *Server) *registrar {
	return &registrar{
		s:        s,
		w:        newBindingWriter(s.store, s.cfg.BindingWriteDelay, s.log),
		bindings: make(map[crosstalk.Address]map[string]*binding),
	}
}

// resourceFor names a binding's hub endpoint from its key, so the same
// contact or instance always gets the same resource.
func resourceFor(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sip-" + hex.EncodeToString(sum[:6])
}

// list returns the AOR's live bindings: a binding the hub has closed
// stays in the map until its writer has handed back its messages and
// forgets it, but is not one of them.
func (r *registrar) list(aor crosstalk.Address) []*binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*binding, 0, len(r.bindings[aor]))
	for _, b := range r.bindings[aor] {
		if !b.closed() {
			out = append(out, b)
		}
	}
	return out
}

// get returns the live binding of aor with key, or nil. A binding the hub
// has closed (slow consumer, account gone) is nil here even while its
// writer has not yet forgotten it, so that a REGISTER in that moment binds
// afresh instead of refreshing a binding the hub no longer has; the new
// binding then takes its place in the map, and forget, which checks
// identity, leaves it there.
func (r *registrar) get(aor crosstalk.Address, key string) *binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.bindings[aor][key]; b != nil && !b.closed() {
		return b
	}
	return nil
}

// add records a new binding and starts its writer; it is not bound to the
// hub until activate.
func (r *registrar) add(reg crosstalk.Registration) (*binding, error) {
	addr, err := reg.AOR.WithResource(reg.Resource)
	if err != nil {
		return nil, fmt.Errorf("binding resource %q: %w", reg.Resource, err)
	}
	b := newBinding(r.s, addr, reg)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, crosstalk.ErrShuttingDown
	}
	m := r.bindings[reg.AOR]
	if m == nil {
		m = make(map[string]*binding)
		r.bindings[reg.AOR] = m
	}
	m[reg.Key()] = b
	r.mu.Unlock()
	go b.run()
	return b, nil
}

// activate binds a new binding to the hub and makes it available, which
// makes the hub deliver the account's offline messages to it (in order,
// once).
//
// A binding is activated after the 200 is sent, so the UA's next REGISTER
// may remove it first (its Contact with expires=0, Contact: *): a binding
// closed before or while it is bound is not left bound — its writer's
// Unbind may have come before the Bind here.
func (r *registrar) activate(ctx context.Context, b *binding) {
	if b.closed() {
		return
	}
	if _, err := r.s.hub.Bind(ctx, b.addr, b); err != nil {
		r.s.log.Error().Err(err).Str("aor", b.addr.Bare().String()).Msg("binding to the hub failed")
		r.forget(ctx, b)
		b.Close(err)
		return
	}
	if b.closed() {
		r.s.hub.Unbind(ctx, b.addr, b, nil)
		return
	}
	p := &crosstalk.Presence{From: b.addr, Type: crosstalk.PresenceAvailable}
	if err := r.s.hub.SetPresence(ctx, p); err != nil {
		r.s.log.Error().Err(err).Str("aor", b.addr.Bare().String()).Msg("presence of a new binding failed")
	}
}

// remove ends a binding: out of the map and the store, then closed, which
// unbinds it from the hub (unavailable presence, leftovers re-routed).
func (r *registrar) remove(ctx context.Context, b *binding) {
	r.forget(ctx, b)
	b.Close(crosstalk.ErrEndpointClosed)
}

// store queues a new or changed binding for the store.
func (r *registrar) store(b *binding) {
	b.mu.Lock()
	reg := b.reg
	b.storedExpires = reg.Expires
	b.dirty = false
	b.mu.Unlock()
	r.w.put(reg)
}

// refresh replaces a binding's registration after a REGISTER. A change
// of anything but the expiry, Call-ID and CSeq is queued for the store at
// once; a plain refresh only when it moves the stored expiry by more than
// a tenth of the binding's lifetime. Otherwise the store keeps a slightly
// earlier expiry until the next write or the graceful shutdown (closeAll
// writes the bindings left dirty): a crash can shorten such a binding by
// at most a tenth of its lifetime. Call-ID and CSeq order the REGISTERs
// of a live binding (RFC 3261 §10.3 step 7); after a crash the stored,
// older pair can only let through what the UA sends anew.
func (r *registrar) refresh(b *binding, reg crosstalk.Registration) {
	now := r.s.now()
	b.mu.Lock()
	write := !sameBinding(b.reg, reg) || reg.Expires.Sub(b.storedExpires) > reg.Expires.Sub(now)/10
	b.setRegLocked(reg)
	if write {
		b.storedExpires = reg.Expires
		b.dirty = false
	} else {
		b.dirty = true
	}
	b.mu.Unlock()
	if write {
		r.w.put(reg)
	}
}

// sameBinding reports whether two registrations of one binding differ at
// most in expiry, Call-ID and CSeq.
func sameBinding(a, b crosstalk.Registration) bool {
	return a.AOR == b.AOR && a.Contact == b.Contact && a.InstanceID == b.InstanceID && a.RegID == b.RegID &&
		a.Resource == b.Resource && a.Q == b.Q && a.Received == b.Received &&
		a.UserAgent == b.UserAgent && slices.Equal(a.Path, b.Path)
}

// forget takes a binding out of the map and the store without closing it;
// a binding no longer in the map (forgotten already, or at shutdown, when
// bindings stay stored) is left alone.
func (r *registrar) forget(ctx context.Context, b *binding) {
	reg := b.registration()
	r.mu.Lock()
	m := r.bindings[reg.AOR]
	if m == nil || m[reg.Key()] != b {
		r.mu.Unlock()
		return
	}
	delete(m, reg.Key())
	if len(m) == 0 {
		delete(r.bindings, reg.AOR)
	}
	r.mu.Unlock()
	r.w.remove(reg.AOR, reg.Key())
}

// flowClosed removes the outbound bindings (RFC 5626, reg-id) that were
// registered over a connection that has just closed: they cannot be reached
// on it any more, and the UA registers again over a new flow.
func (r *registrar) flowClosed(network, raddr string) {
	received := network + ":" + raddr
	var gone []*binding
	r.mu.Lock()
	for _, m := range r.bindings {
		for _, b := range m {
			if reg := b.registration(); reg.RegID > 0 && reg.Received == received {
				gone = append(gone, b)
			}
		}
	}
	r.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, b := range gone {
		r.s.log.Debug().Str("aor", b.addr.Bare().String()).Str("flow", received).Msg("outbound flow closed; binding removed")
		r.remove(ctx, b)
	}
}

// reload restores the bindings kept in the store at start-up.
func (r *registrar) reload(ctx context.Context) error {
	now := r.s.now()
	if _, err := r.s.store.DeleteExpiredRegistrations(ctx, now); err != nil {
		return fmt.Errorf("delete expired registrations: %w", err)
	}
	n := 0
	for _, d := range r.s.cfg.Domains {
		aors, err := r.s.store.ListAccounts(ctx, d)
		if err != nil {
			return fmt.Errorf("list accounts of %s: %w", d, err)
		}
		for _, aor := range aors {
			regs, err := r.s.store.ListRegistrations(ctx, aor, now)
			if err != nil {
				return fmt.Errorf("list registrations of %s: %w", aor, err)
			}
			for _, reg := range regs {
				b, err := r.add(reg)
				if err != nil {
					return err
				}
				r.activate(ctx, b)
				n++
			}
		}
	}
	if n > 0 {
		r.s.log.Info().Int("bindings", n).Msg("registrations reloaded")
	}
	return nil
}

// sweepLoop removes expired bindings until ctx ends.
func (r *registrar) sweepLoop(ctx context.Context) {
	t := time.NewTicker(r.s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.sweep(ctx)
		}
	}
}

func (r *registrar) sweep(ctx context.Context) {
	now := r.s.now()
	var expired []*binding
	r.mu.Lock()
	for _, m := range r.bindings {
		for _, b := range m {
			if !b.registration().Expires.After(now) {
				expired = append(expired, b)
			}
		}
	}
	r.mu.Unlock()
	for _, b := range expired {
		r.s.log.Debug().Str("aor", b.addr.Bare().String()).Str("contact", b.registration().Contact).Msg("binding expired")
		r.remove(ctx, b)
	}
	if _, err := r.s.store.DeleteExpiredRegistrations(ctx, now); err != nil && ctx.Err() == nil {
		r.s.log.Error().Err(err).Msg("deleting expired registrations failed")
	}
}

// closeAll stops every writer at shutdown (the bindings stay in the
// store), writes every queued binding change and the refreshes not yet
// written, and waits, until ctx ends, for each writer to hand what it
// never delivered back to the hub.
func (r *registrar) closeAll(ctx context.Context) {
	r.mu.Lock()
	r.closed = true
	var all []*binding
	for _, m := range r.bindings {
		for _, b := range m {
			all = append(all, b)
		}
	}
	r.bindings = make(map[crosstalk.Address]map[string]*binding)
	r.mu.Unlock()
	for _, b := range all {
		b.mu.Lock()
		dirty, reg := b.dirty, b.reg
		b.dirty = false
		b.mu.Unlock()
		if dirty {
			r.w.put(reg)
		}
		b.Close(crosstalk.ErrShuttingDown)
	}
	// The store first: the writers' leftovers go back to the hub, which
	// keeps them without us.
	if err := r.w.close(ctx); err != nil {
		r.s.log.Error().Err(err).Msg("registration bindings not all stored at shutdown")
	}
	for _, b := range all {
		select {
		case <-b.exited:
		case <-ctx.Done():
			return
		}
	}
}
