package sip

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// presenceServer is the SIP presence agent and notifier (RFC 3856), the
// watcher-info notifier (RFC 3857), the resource list server (RFC 4662)
// and the event state compositor for PUBLISH (RFC 3903). It holds no
// presence of its own: subscriptions are views of the hub's aggregated
// presence and of the roster, and publications are hub endpoints
// (crosstalk.PresenceSource). It observes the hub to learn of changes.
//
// Lock order: presenceServer.mu before subscription.mu; neither is held
// while calling the hub, the store or the network.
type presenceServer struct {
	s   *Server
	cfg PresenceConfig

	mu sync.Mutex
	// subs holds every live subscription by dialog key.
	subs map[string]*subscription
	// byPresentity indexes presence and winfo subscriptions by the account
	// watched; byContact indexes resource-list subscriptions by each
	// contact of the list.
	byPresentity map[crosstalk.Address]map[*subscription]struct{}
	byContact    map[crosstalk.Address]map[*subscription]struct{}
	// perWatcher counts the subscriptions each account holds.
	perWatcher map[crosstalk.Address]int
	// pubs holds the live publications by entity tag.
	pubs    map[string]*publication
	perPubs map[crosstalk.Address]int
	closed  bool

	// rosterDirty coalesces roster changes for the worker.
	rosterMu    sync.Mutex
	rosterDirty map[crosstalk.Address]struct{}
	rosterKick  chan struct{}
	// slots bounds the NOTIFY transactions in flight.
	slots chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

var _ crosstalk.PresenceObserver = (*presenceServer)(nil)

func newPresenceServer(s *Server) *presenceServer {
	p := &presenceServer{
		s:            s,
		cfg:          s.cfg.Presence.withDefaults(),
		subs:         make(map[string]*subscription),
		byPresentity: make(map[crosstalk.Address]map[*subscription]struct{}),
		byContact:    make(map[crosstalk.Address]map[*subscription]struct{}),
		perWatcher:   make(map[crosstalk.Address]int),
		pubs:         make(map[string]*publication),
		perPubs:      make(map[crosstalk.Address]int),
		rosterDirty:  make(map[crosstalk.Address]struct{}),
		rosterKick:   make(chan struct{}, 1),
		slots:        make(chan struct{}, s.cfg.Presence.withDefaults().NotifyConcurrency),
		done:         make(chan struct{}),
	}
	s.hub.Observe(p)
	p.wg.Add(1)
	go p.rosterWorker()
	return p
}

// PresenceChanged schedules NOTIFYs for the subscriptions that show owner.
func (p *presenceServer) PresenceChanged(owner crosstalk.Address) {
	p.mu.Lock()
	var kick []*subscription
	for sub := range p.byPresentity[owner] {
		if sub.kind == kindPresence {
			kick = append(kick, sub)
		}
	}
	for sub := range p.byContact[owner] {
		kick = append(kick, sub)
	}
	p.mu.Unlock()
	for _, sub := range kick {
		if sub.active() { // pending watchers learn nothing of a change
			sub.changed(owner, false)
		}
	}
}

// RosterChanged queues owner for the roster worker, which re-reads the
// authorisation of its subscriptions; it never blocks.
func (p *presenceServer) RosterChanged(owner crosstalk.Address) {
	p.rosterMu.Lock()
	p.rosterDirty[owner] = struct{}{}
	p.rosterMu.Unlock()
	select {
	case p.rosterKick <- struct{}{}:
	default:
	}
}

// rosterWorker re-evaluates the subscriptions of accounts whose roster
// changed, one account at a time.
func (p *presenceServer) rosterWorker() {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case <-p.rosterKick:
		}
		p.rosterMu.Lock()
		owners := make([]crosstalk.Address, 0, len(p.rosterDirty))
		for o := range p.rosterDirty {
			owners = append(owners, o)
		}
		clear(p.rosterDirty)
		p.rosterMu.Unlock()
		for _, o := range owners {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			p.reauthorise(ctx, o)
			cancel()
		}
	}
}

// reauthorise applies owner's roster to the subscriptions that watch it:
// presence subscriptions move between pending, active and terminated
// (rejected); watcher-info and resource-list views are re-sent.
func (p *presenceServer) reauthorise(ctx context.Context, owner crosstalk.Address) {
	p.mu.Lock()
	var subs []*subscription
	for sub := range p.byPresentity[owner] {
		subs = append(subs, sub)
	}
	for sub := range p.byContact[owner] {
		subs = append(subs, sub)
	}
	p.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	if _, err := p.s.store.GetAccount(ctx, owner); errors.Is(err, crosstalk.ErrNoSuchAccount) {
		for _, sub := range subs {
			if sub.presentity == owner {
				sub.terminate("noresource") // the account was deleted
			} else {
				sub.changed(owner, false)
			}
		}
		return
	}
	for _, sub := range subs {
		switch {
		case sub.kind == kindPresence:
			p.authorise(ctx, sub)
		case sub.kind == kindList && sub.presentity == owner:
			if err := p.loadList(ctx, sub); err != nil {
				p.s.log.Warn().Err(err).Str("aor", owner.String()).Msg("reloading a resource list failed")
			}
			sub.changed(crosstalk.Address{}, true)
		case sub.kind == kindList:
			sub.changed(owner, false)
		default:
			sub.changed(crosstalk.Address{}, false)
		}
	}
}

// authorise sets a presence subscription's state from the presentity's
// roster item for the watcher: from/both (or the account itself) is
// active; a waiting request is pending; anything else ends it (rejected).
func (p *presenceServer) authorise(ctx context.Context, sub *subscription) {
	state, err := p.authState(ctx, sub.presentity, sub.watcher)
	if err != nil {
		p.s.log.Warn().Err(err).Str("aor", sub.presentity.String()).Msg("reading the roster for a subscription failed")
		return
	}
	switch state {
	case stateActive:
		sub.setState(stateActive, "")
	case statePending:
		sub.setState(statePending, "")
	default:
		sub.terminate("rejected")
	}
}

// authState reads what the presentity's roster and blocklist say about the
// watcher: blocked (the pres-rules "block" rule sip/xcap renders from the
// blocklist) is terminated whatever the roster says.
func (p *presenceServer) authState(ctx context.Context, presentity, watcher crosstalk.Address) (subState, error) {
	if presentity == watcher {
		return stateActive, nil
	}
	if blocked, err := p.s.store.IsBlocked(ctx, presentity, watcher); err != nil || blocked {
		return stateTerminated, err
	}
	item, err := p.s.store.GetRosterItem(ctx, presentity, watcher)
	if err != nil {
		return stateTerminated, ignoreNotFound(err)
	}
	switch {
	case item.SeesOwner():
		return stateActive, nil
	case item.PendingIn:
		return statePending, nil
	}
	return stateTerminated, nil
}

// add records a new subscription, within the per-account bound.
func (p *presenceServer) add(sub *subscription) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return crosstalk.ErrShuttingDown
	}
	if p.perWatcher[sub.watcher] >= p.cfg.MaxSubscriptionsPerAccount {
		return statusErr(403, "Forbidden (too many subscriptions)")
	}
	p.perWatcher[sub.watcher]++
	p.subs[sub.key] = sub
	index(p.byPresentity, sub.presentity, sub)
	return nil
}

// remove forgets a subscription; removing it twice is harmless.
func (p *presenceServer) remove(sub *subscription) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.subs[sub.key] != sub {
		return
	}
	delete(p.subs, sub.key)
	if p.perWatcher[sub.watcher]--; p.perWatcher[sub.watcher] <= 0 {
		delete(p.perWatcher, sub.watcher)
	}
	unindex(p.byPresentity, sub.presentity, sub)
	for _, c := range sub.listContacts() {
		unindex(p.byContact, c, sub)
	}
}

// lookup returns the subscription of a dialog, or nil.
func (p *presenceServer) lookup(key string) *subscription {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.subs[key]
}

func index(m map[crosstalk.Address]map[*subscription]struct{}, a crosstalk.Address, sub *subscription) {
	set := m[a]
	if set == nil {
		set = make(map[*subscription]struct{})
		m[a] = set
	}
	set[sub] = struct{}{}
}

func unindex(m map[crosstalk.Address]map[*subscription]struct{}, a crosstalk.Address, sub *subscription) {
	if set := m[a]; set != nil {
		delete(set, sub)
		if len(set) == 0 {
			delete(m, a)
		}
	}
}

// shutdownGrace bounds how long close waits for the final NOTIFYs.
const shutdownGrace = 500 * time.Millisecond

// close ends every subscription with terminated;reason=deactivated (RFC
// 6665 §4.1.3: the watcher should subscribe again at once, which reaches
// the next start), waits for those NOTIFYs at most shutdownGrace, then
// stops timers and the worker. Publications end with the hub.
func (p *presenceServer) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	subs := make([]*subscription, 0, len(p.subs))
	for _, sub := range p.subs {
		subs = append(subs, sub)
	}
	pubs := make([]*publication, 0, len(p.pubs))
	for _, pub := range p.pubs {
		pubs = append(pubs, pub)
	}
	p.mu.Unlock()
	for _, sub := range subs {
		sub.terminate("deactivated")
	}
	deadline := time.Now().Add(shutdownGrace)
	for time.Now().Before(deadline) && p.live() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	close(p.done)
	for _, sub := range subs {
		sub.stopTimers()
	}
	for _, pub := range pubs {
		pub.stop()
	}
	p.wg.Wait()
}

// live counts the subscriptions not yet removed.
func (p *presenceServer) live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}
