package crosstalk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// RemoteRouter hands events for other domains to federation. The core
// defines it; federation/ implements it.
type RemoteRouter interface {
	RouteRemote(ctx context.Context, ev Event) error
}

// HubConfig configures a Hub.
type HubConfig struct {
	// Domains are the domains served here; any other is remote.
	Domains []string
	// Remote routes to other domains; nil refuses them with ErrRemoteNotSupported.
	Remote RemoteRouter
	// Archive keeps every one-to-one message with a body in both local
	// parties' archives (XEP-0313), written in batches (hub_archive.go).
	Archive bool
	// Now returns the time; nil means time.Now.
	Now func() time.Time
	// RoomDomains are the room service domains (conference.example.com):
	// presence and messages to them go to the room service.
	RoomDomains []string
	// OccupantIDKey keys the stable occupant ids of XEP-0421; nil means a
	// random key, so ids change at restart.
	OccupantIDKey []byte
	// LockNewRooms keeps a room created by a join that can configure it
	// (RoomJoin.Configurable: an XMPP MUC join) locked until its owner
	// configures it or accepts it as an instant room (XEP-0045 §10.1):
	// others' joins get ErrNotFound meanwhile. Rooms created by SIP
	// occupants, who cannot configure, are never locked.
	LockNewRooms bool
	// ServiceDomains are domains served by one external endpoint each (an
	// XEP-0114 component), bound with BindDomain (hub_domain.go). They must
	// be neither in Domains nor in RoomDomains.
	ServiceDomains []string
}

// Hub routes events between endpoints, fans out presence, keeps offline
// messages and runs the subscription state machine. It is safe for
// concurrent use.
//
// Endpoints bind under full addresses. When a full address is bound twice
// the newer endpoint wins and the older one is closed with
// ErrResourceConflict (RFC 6120 §7.7.2.2, "terminate the existing session").
//
// Routing to a bare address follows RFC 6121 §8.5.2: a message of type chat
// or normal goes to every available endpoint with the highest non-negative
// priority (several on a tie), a headline to every available endpoint with a
// non-negative priority; with none, chat and normal messages are stored
// offline and delivered at the next initial presence, once.
//
// Lock order: Hub.mu is never held while calling an Endpoint or the store.
type Hub struct {
	cfg     HubConfig
	store   Store
	log     zerolog.Logger
	domains map[string]bool
	// archiver writes archive entries in batches; nil when archiving is off.
	archiver *archiver
	// archiveIDs gives every archive entry its id before it is queued.
	archiveIDs ArchiveIDs
	// lastW writes recorded last activities behind (hub_last.go).
	lastW *lastWriter

	mu       sync.RWMutex
	accounts map[Address]*online
	obs      observerSet // presence and roster observers (hub_observe.go)
	closed   bool

	// rosterLocks serialise changes of roster items per owner (hub_roster.go).
	rosterLocks [64]sync.Mutex
	rosterSeed  maphash.Seed

	// The room service (hub_rooms.go).
	roomDomains map[string]bool
	occupantKey []byte
	roomsMu     sync.Mutex
	rooms       map[Address]*liveRoom
	occupying   map[Address]map[Address]bool // occupant full address → rooms

	// domainEPs are the endpoints bound at service domains (hub_domain.go),
	// guarded by mu.
	domainEPs map[string]Endpoint
}

// online is the live state of an account with at least one bound endpoint.
type online struct {
	bindings map[string]*binding
	// watchers caches the bare addresses that see this account's presence
	// (roster items with from/both); nil until loaded, reset on roster change.
	watchers []Address
	// roster caches the account's roster while it is online (loadRoster);
	// nil until loaded, reset on roster change. rosterGen counts the
	// changes, so that a load that raced with one is not cached.
	roster    *Roster
	rosterGen uint64
	// blocked caches the account's blocklist; nil until loaded.
	blocked blockSet
}

// binding is one bound endpoint.
type binding struct {
	addr Address
	ep   Endpoint
	// presence is the last available presence; nil before initial presence
	// and after unavailable.
	presence *Presence
	// directed holds addresses sent directed available presence, which get
	// unavailable too (RFC 6121 §4.6.3).
	directed map[Address]bool
}

// NewHub returns a hub over store.
func NewHub(cfg HubConfig, store Store, log zerolog.Logger) *Hub {
	h := &Hub{
		cfg:       cfg,
		store:     store,
		log:       log.With().Str("component", "hub").Logger(),
		domains:   make(map[string]bool, len(cfg.Domains)),
		accounts:  make(map[Address]*online),
		domainEPs: make(map[string]Endpoint),
	}
	for _, d := range cfg.Domains {
		h.domains[d] = true
	}
	if cfg.Archive {
		h.archiver = newArchiver(store, h.log, h.now())
	}
	h.lastW = newLastWriter(store, h.log)
	h.roomDomains = make(map[string]bool, len(cfg.RoomDomains))
	for _, d := range cfg.RoomDomains {
		h.roomDomains[d] = true
	}
	h.rooms, h.occupying = map[Address]*liveRoom{}, map[Address]map[Address]bool{}
	h.rosterSeed = maphash.MakeSeed()
	h.occupantKey = cfg.OccupantIDKey
	if h.occupantKey == nil {
		h.occupantKey = make([]byte, 32)
		_, _ = rand.Read(h.occupantKey)
	}
	return h
}

func (h *Hub) now() time.Time {
	if h.cfg.Now != nil {
		return h.cfg.Now()
	}
	return time.Now()
}

// IsLocal reports whether the address's domain is served here.
func (h *Hub) IsLocal(a Address) bool { return h.domains[a.Domain()] }

// Bind binds ep under want (a full address, or bare to have a resource
// generated) and returns the address it is bound under. The account must be
// local; the frontend has authenticated it.
func (h *Hub) Bind(ctx context.Context, want Address, ep Endpoint) (Address, error) {
	if want.Local() == "" || !h.IsLocal(want) {
		return Address{}, fmt.Errorf("bind %s: %w: not a local account", want, ErrInvalidAddress)
	}
	if err := ctx.Err(); err != nil {
		return Address{}, err
	}
	addr := want
	if addr.IsBare() {
		var err error
		if addr, err = want.WithResource(randomResource()); err != nil {
			return Address{}, err
		}
	}
	bare := addr.Bare()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return Address{}, ErrShuttingDown
	}
	acct := h.accounts[bare]
	if acct == nil {
		acct = &online{bindings: make(map[string]*binding, 1)}
		h.accounts[bare] = acct
	}
	old := acct.bindings[addr.Resource()]
	acct.bindings[addr.Resource()] = &binding{addr: addr, ep: ep}
	h.mu.Unlock()
	if old != nil {
		h.log.Info().Str("jid", addr.String()).Msg("resource conflict: the newer session replaces the older")
		old.ep.Close(ErrResourceConflict)
		h.ended(ctx, gone{addr: addr, available: old.presence != nil, directed: old.directedList()})
	}
	return addr, nil
}

func randomResource() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ct-" + hex.EncodeToString(b[:])
}

// Unbind removes the endpoint bound at addr, if ep is still the one bound
// there, broadcasts unavailable presence if it was available, and re-routes
// the events it never took (a Mailbox's leftovers): messages go to the
// account's other endpoints or offline storage, nothing is lost.
func (h *Hub) Unbind(ctx context.Context, addr Address, ep Endpoint, undelivered []Event) {
	if g, ok := h.remove(addr, ep); ok {
		h.ended(ctx, g)
	}
	h.reroute(ctx, addr, undelivered)
}

// gone describes a binding just removed: whether it was available and where
// it had sent directed presence.
type gone struct {
	addr      Address
	available bool
	directed  []Address
	// watchers is the account's cached watcher list when this was its
	// last binding (the account's record, and the cache with it, is gone
	// by the time the unavailable presence goes out); nil when not cached.
	watchers []Address
}

// directedList copies the directed-presence targets; call with h.mu held.
func (b *binding) directedList() []Address {
	out := make([]Address, 0, len(b.directed))
	for a := range b.directed {
		out = append(out, a)
	}
	return out
}

// remove takes the binding out of the registry if ep still holds it.
func (h *Hub) remove(addr Address, ep Endpoint) (gone, bool) {
	bare := addr.Bare()
	h.mu.Lock()
	defer h.mu.Unlock()
	acct := h.accounts[bare]
	if acct == nil {
		return gone{}, false
	}
	b := acct.bindings[addr.Resource()]
	if b == nil || b.ep != ep {
		return gone{}, false
	}
	delete(acct.bindings, addr.Resource())
	g := gone{addr: addr, available: b.presence != nil, directed: b.directedList()}
	if len(acct.bindings) == 0 {
		delete(h.accounts, bare)
		g.watchers = acct.watchers
	}
	return g, true
}

// reroute sends messages an endpoint never took to its bare address again.
func (h *Hub) reroute(ctx context.Context, addr Address, events []Event) {
	for _, ev := range events {
		m, ok := ev.(*Message)
		if !ok || (m.Type != MessageChat && m.Type != MessageNormal) {
			continue // presence and roster state is re-sent at the next login
		}
		rerouted := *m
		rerouted.To = addr.Bare()
		if err := h.RouteMessage(ctx, &rerouted); err != nil {
			h.log.Error().Err(err).Str("jid", addr.String()).Str("id", m.ID).Msg("re-routing an undelivered message failed")
		}
	}
}

// deliver hands ev to one binding. A slow or closed endpoint is unbound and
// closed; the caller decides what happens to ev.
func (h *Hub) deliver(ctx context.Context, b *binding, ev Event) bool {
	err := b.ep.Deliver(ev)
	if err == nil {
		return true
	}
	h.dropEndpoint(ctx, b, err)
	return false
}

// dropEndpoint unbinds and closes an endpoint that refused an event.
func (h *Hub) dropEndpoint(ctx context.Context, b *binding, err error) {
	if errors.Is(err, ErrSlowConsumer) {
		h.log.Warn().Str("jid", b.addr.String()).Msg("slow consumer disconnected")
	}
	if g, ok := h.remove(b.addr, b.ep); ok {
		b.ep.Close(err)
		h.ended(ctx, g)
	}
}

// ended tells everyone that an endpoint has gone: unavailable presence to
// those who saw it, and its leaving every room it was in.
func (h *Hub) ended(ctx context.Context, g gone) {
	if g.available {
		h.broadcastUnavailable(ctx, g)
	}
	h.leaveAllRooms(ctx, g.addr)
}

// snapshot returns the bindings of a bare address (nil when offline).
func (h *Hub) snapshot(bare Address) []*binding {
	h.mu.RLock()
	defer h.mu.RUnlock()
	acct := h.accounts[bare]
	if acct == nil {
		return nil
	}
	out := make([]*binding, 0, len(acct.bindings))
	for _, b := range acct.bindings {
		out = append(out, b)
	}
	return out
}

// lookup returns the binding at a full address, or nil.
func (h *Hub) lookup(full Address) *binding {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if acct := h.accounts[full.Bare()]; acct != nil {
		return acct.bindings[full.Resource()]
	}
	return nil
}

// Endpoints returns the full addresses bound for a bare address.
func (h *Hub) Endpoints(bare Address) []Address {
	bs := h.snapshot(bare.Bare())
	out := make([]Address, len(bs))
	for i, b := range bs {
		out[i] = b.addr
	}
	return out
}

// Disconnect closes every endpoint of a bare address with reason.
func (h *Hub) Disconnect(ctx context.Context, bare Address, reason error) {
	for _, b := range h.snapshot(bare.Bare()) {
		if g, ok := h.remove(b.addr, b.ep); ok {
			b.ep.Close(reason)
			h.ended(ctx, g)
		}
	}
}

// Close ends every endpoint with ErrShuttingDown and writes the queued
// archive entries and recorded last activities; later binds fail.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	accounts := h.accounts
	h.accounts = make(map[Address]*online)
	domainEPs := h.domainEPs
	h.domainEPs = make(map[string]Endpoint)
	h.mu.Unlock()
	for _, ep := range domainEPs {
		ep.Close(ErrShuttingDown)
	}
	for _, acct := range accounts {
		for _, b := range acct.bindings {
			b.ep.Close(ErrShuttingDown)
		}
	}
	if err := h.lastW.close(ctx); err != nil {
		return fmt.Errorf("writing last activities: %w", err)
	}
	if h.archiver != nil {
		if err := h.archiver.close(ctx); err != nil {
			return fmt.Errorf("writing the archive queue: %w", err)
		}
	}
	return ctx.Err()
}
