package crosstalk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// endpoint is a test endpoint over a Mailbox, as a frontend session would be.
type endpoint struct {
	mb     *crosstalk.Mailbox
	mu     sync.Mutex
	reason error
	left   []crosstalk.Event
}

func newEndpoint(size int) *endpoint { return &endpoint{mb: crosstalk.NewMailbox(size, 0)} }

func (e *endpoint) Protocol() crosstalk.Protocol     { return crosstalk.ProtocolXMPP }
func (e *endpoint) Deliver(ev crosstalk.Event) error { return e.mb.Put(ev) }
func (e *endpoint) Close(reason error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.reason == nil {
		e.reason = reason
		e.left = e.mb.Close()
	}
}

func (e *endpoint) closedWith() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reason
}

// take returns what the endpoint has received so far.
func (e *endpoint) take() []crosstalk.Event { return e.mb.Take(nil) }

func messages(evs []crosstalk.Event) []*crosstalk.Message {
	var out []*crosstalk.Message
	for _, ev := range evs {
		if m, ok := ev.(*crosstalk.Message); ok {
			out = append(out, m)
		}
	}
	return out
}

func presences(evs []crosstalk.Event, t crosstalk.PresenceType) []*crosstalk.Presence {
	var out []*crosstalk.Presence
	for _, ev := range evs {
		if p, ok := ev.(*crosstalk.Presence); ok && p.Type == t {
			out = append(out, p)
		}
	}
	return out
}

func pushes(evs []crosstalk.Event) []*crosstalk.RosterPush {
	var out []*crosstalk.RosterPush
	for _, ev := range evs {
		if p, ok := ev.(*crosstalk.RosterPush); ok {
			out = append(out, p)
		}
	}
	return out
}

type recordingRemote struct {
	mu     sync.Mutex
	events []crosstalk.Event
}

func (r *recordingRemote) RouteRemote(_ context.Context, ev crosstalk.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	hub    *crosstalk.Hub
	store  crosstalk.Store
	remote *recordingRemote
}

func newFixture(t testing.TB, archive bool, users ...string) *fixture {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/hub.db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	remote := &recordingRemote{}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}, Remote: remote, Archive: archive}, st, zerolog.Nop())
	t.Cleanup(func() { _ = hub.Close(ctx) })
	for _, u := range users {
		if err := hub.CreateAccount(ctx, addr(u), "secret-"+u, crosstalk.MinSCRAMIterations); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{ctx: ctx, hub: hub, store: st, remote: remote}
	if tt, ok := t.(*testing.T); ok {
		f.t = tt
	}
	return f
}

func addr(s string) crosstalk.Address {
	if !strings.Contains(s, "@") {
		local, res, hasRes := strings.Cut(s, "/")
		s = local + "@example.com"
		if hasRes {
			s += "/" + res
		}
	}
	return crosstalk.MustParseAddress(s)
}

// online binds an endpoint and sends initial presence with a priority.
func (f *fixture) online(full string, priority int8) (*endpoint, crosstalk.Address) {
	f.t.Helper()
	ep := newEndpoint(256)
	a, err := f.hub.Bind(f.ctx, addr(full), ep)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: a, Priority: priority}); err != nil {
		f.t.Fatal(err)
	}
	return ep, a
}

func (f *fixture) send(from, to crosstalk.Address, body string) error {
	return f.hub.RouteMessage(f.ctx, &crosstalk.Message{ID: body, From: from, To: to, Type: crosstalk.MessageChat, Body: body})
}

func (f *fixture) subscribe(from, to string, t crosstalk.PresenceType) {
	f.t.Helper()
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: addr(from), To: addr(to), Type: t}); err != nil {
		f.t.Fatal(err)
	}
}

// befriend runs the full handshake both ways.
func (f *fixture) befriend(a, b string) {
	f.subscribe(a, b, crosstalk.PresenceSubscribe)
	f.subscribe(b, a, crosstalk.PresenceSubscribed)
	f.subscribe(b, a, crosstalk.PresenceSubscribe)
	f.subscribe(a, b, crosstalk.PresenceSubscribed)
}

func TestBindConflictNewerWins(t *testing.T) {
	f := newFixture(t, false, "alice")
	first, _ := f.online("alice@example.com/phone", 0)
	second, a := f.online("alice@example.com/phone", 0)
	if !errors.Is(first.closedWith(), crosstalk.ErrResourceConflict) {
		t.Fatalf("older endpoint closed with %v", first.closedWith())
	}
	// The replaced endpoint unbinding must not remove the newer one.
	f.hub.Unbind(f.ctx, a, first, nil)
	if eps := f.hub.Endpoints(addr("alice")); len(eps) != 1 || second.closedWith() != nil {
		t.Fatalf("endpoints after stale unbind: %v", eps)
	}
	gen, err := f.hub.Bind(f.ctx, addr("alice"), newEndpoint(4))
	if err != nil || gen.Resource() == "" {
		t.Fatalf("generated resource: %v %v", gen, err)
	}
	if _, err := f.hub.Bind(f.ctx, addr("alice@elsewhere.example/x"), newEndpoint(4)); !errors.Is(err, crosstalk.ErrInvalidAddress) {
		t.Fatalf("remote bind: %v", err)
	}
}

func TestRouteBareByPriority(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	high, _ := f.online("bob/desk", 5)
	low, _ := f.online("bob/phone", 1)
	neg, negAddr := f.online("bob/bot", -1)
	for _, ep := range []*endpoint{high, low, neg} {
		ep.take()
	}
	if err := f.send(alice, addr("bob"), "to the best"); err != nil {
		t.Fatal(err)
	}
	if len(messages(high.take())) != 1 || len(messages(low.take())) != 0 || len(messages(neg.take())) != 0 {
		t.Fatal("bare message did not go to the highest priority only")
	}
	tie, _ := f.online("bob/tablet", 5)
	tie.take()
	high.take()
	if err := f.send(alice, addr("bob"), "to both"); err != nil {
		t.Fatal(err)
	}
	if len(messages(high.take())) != 1 || len(messages(tie.take())) != 1 {
		t.Fatal("a tie did not reach both")
	}
	if err := f.send(alice, negAddr, "direct"); err != nil {
		t.Fatal(err)
	}
	if got := messages(neg.take()); len(got) != 1 || got[0].Body != "direct" {
		t.Fatalf("full-address message: %v", got)
	}
	if err := f.send(alice, addr("nobody"), "x"); !errors.Is(err, crosstalk.ErrNoSuchAccount) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestOfflineDeliveredOnceInOrder(t *testing.T) {
	f := newFixture(t, true, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	for i := range 3 {
		if err := f.send(alice, addr("bob"), fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A message to a vanished full address is treated as bare (§8.5.3.2.1).
	if err := f.send(alice, addr("bob@example.com/gone"), "m3"); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.store.CountOffline(f.ctx, addr("bob")); n != 4 {
		t.Fatalf("offline count %d, want 4", n)
	}
	phone, _ := f.online("bob/phone", 0)
	got := messages(phone.take())
	if len(got) != 4 {
		t.Fatalf("delivered %d offline messages", len(got))
	}
	for i, m := range got {
		if m.Body != fmt.Sprint("m", i) {
			t.Fatalf("offline order: %d is %q", i, m.Body)
		}
	}
	desk, _ := f.online("bob/desk", 0)
	if len(messages(desk.take())) != 0 {
		t.Fatal("offline messages delivered twice")
	}
	page, err := f.hub.QueryArchive(f.ctx, addr("bob"), crosstalk.ArchiveQuery{})
	if err != nil || len(page.Messages) != 4 {
		t.Fatalf("bob's archive: %d messages, %v", len(page.Messages), err)
	}
	page, _ = f.hub.QueryArchive(f.ctx, addr("alice"), crosstalk.ArchiveQuery{With: addr("bob")})
	if len(page.Messages) != 4 {
		t.Fatalf("alice's archive: %d messages", len(page.Messages))
	}
}

func TestSlowConsumerLosesNothing(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	bob := newEndpoint(1)
	bobAddr, err := f.hub.Bind(f.ctx, addr("bob/phone"), bob)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: bobAddr}); err != nil {
		t.Fatal(err)
	}
	bob.take()
	if err := f.send(alice, addr("bob"), "first"); err != nil {
		t.Fatal(err)
	}
	if err := f.send(alice, addr("bob"), "second"); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(bob.closedWith(), crosstalk.ErrSlowConsumer) {
		t.Fatalf("slow endpoint closed with %v", bob.closedWith())
	}
	// The session hands back what it never wrote, as a frontend does.
	f.hub.Unbind(f.ctx, bobAddr, bob, bob.left)
	n, _ := f.store.CountOffline(f.ctx, addr("bob"))
	if n != 2 {
		t.Fatalf("%d messages kept offline, want 2", n)
	}
	again, _ := f.online("bob/phone", 0)
	if got := messages(again.take()); len(got) != 2 || got[0].Body != "second" && got[1].Body != "second" {
		t.Fatalf("after reconnect: %v", got)
	}
}

func TestSubscriptionHandshake(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	aliceEP, _ := f.online("alice/pc", 0)
	bobEP, _ := f.online("bob/phone", 0)
	aliceEP.take()
	bobEP.take()

	f.subscribe("alice", "bob", crosstalk.PresenceSubscribe)
	if p := pushes(aliceEP.take()); len(p) != 1 || !p[0].Item.PendingOut {
		t.Fatalf("alice's push after subscribe: %+v", p)
	}
	evs := bobEP.take()
	if len(presences(evs, crosstalk.PresenceSubscribe)) != 1 || len(pushes(evs)) != 1 || !pushes(evs)[0].Item.PendingIn {
		t.Fatalf("bob did not see the request: %+v", evs)
	}

	f.subscribe("bob", "alice", crosstalk.PresenceSubscribed)
	if p := pushes(bobEP.take()); len(p) != 1 || p[0].Item.Subscription != crosstalk.SubscriptionFrom {
		t.Fatalf("bob's push after approving: %+v", p)
	}
	evs = aliceEP.take()
	if p := pushes(evs); len(p) != 1 || p[0].Item.Subscription != crosstalk.SubscriptionTo {
		t.Fatalf("alice's push after approval: %+v", p)
	}
	if len(presences(evs, crosstalk.PresenceSubscribed)) != 1 || len(presences(evs, crosstalk.PresenceAvailable)) != 1 {
		t.Fatalf("alice should get 'subscribed' and bob's presence: %+v", evs)
	}

	// Bob's presence now reaches alice; alice's does not reach bob.
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: addr("bob/phone"), Show: crosstalk.ShowAway}); err != nil {
		t.Fatal(err)
	}
	if p := presences(aliceEP.take(), crosstalk.PresenceAvailable); len(p) != 1 || p[0].Show != crosstalk.ShowAway {
		t.Fatalf("alice did not see bob away: %+v", p)
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: addr("alice/pc"), Show: crosstalk.ShowDND}); err != nil {
		t.Fatal(err)
	}
	if p := presences(bobEP.take(), crosstalk.PresenceAvailable); len(p) != 0 {
		t.Fatalf("bob sees alice without a subscription: %+v", p)
	}

	// Unsubscribe: alice stops seeing bob.
	f.subscribe("alice", "bob", crosstalk.PresenceUnsubscribe)
	item, _ := f.store.GetRosterItem(f.ctx, addr("bob"), addr("alice"))
	if item.Subscription != crosstalk.SubscriptionNone {
		t.Fatalf("bob's item after unsubscribe: %+v", item)
	}
}

func TestPreApproval(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	bobEP, _ := f.online("bob/phone", 0)
	f.subscribe("bob", "alice", crosstalk.PresenceSubscribed) // before being asked
	bobEP.take()
	aliceEP, _ := f.online("alice/pc", 0)
	aliceEP.take()
	f.subscribe("alice", "bob", crosstalk.PresenceSubscribe)
	if p := presences(bobEP.take(), crosstalk.PresenceSubscribe); len(p) != 0 {
		t.Fatal("a pre-approved request reached bob")
	}
	item, _ := f.store.GetRosterItem(f.ctx, addr("alice"), addr("bob"))
	if item.Subscription != crosstalk.SubscriptionTo {
		t.Fatalf("alice's item: %+v", item)
	}
	if p := presences(aliceEP.take(), crosstalk.PresenceAvailable); len(p) != 1 {
		t.Fatal("alice did not get bob's presence on pre-approved subscription")
	}
}

func TestPresenceFanoutAndProbes(t *testing.T) {
	f := newFixture(t, false, "alice", "bob", "carol")
	f.befriend("alice", "bob")
	bobEP, _ := f.online("bob/phone", 0)
	carolEP, _ := f.online("carol/pc", 0)
	bobEP.take()
	carolEP.take()

	// alice's initial presence reaches bob, not carol, and alice's new
	// endpoint learns bob's presence (the probe answered locally).
	aliceEP, alice := f.online("alice/pc", 0)
	if len(presences(bobEP.take(), crosstalk.PresenceAvailable)) != 1 {
		t.Fatal("bob did not see alice come online")
	}
	if len(presences(carolEP.take(), crosstalk.PresenceAvailable)) != 0 {
		t.Fatal("carol saw alice without a subscription")
	}
	if p := presences(aliceEP.take(), crosstalk.PresenceAvailable); len(p) != 1 || p[0].From != addr("bob/phone") {
		t.Fatalf("alice's probe results: %+v", p)
	}

	// Directed presence to carol, then unavailable reaches carol too.
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: alice, To: addr("carol")}); err != nil {
		t.Fatal(err)
	}
	if len(presences(carolEP.take(), crosstalk.PresenceAvailable)) != 1 {
		t.Fatal("carol did not get directed presence")
	}
	f.hub.Unbind(f.ctx, alice, aliceEP, nil)
	if len(presences(carolEP.take(), crosstalk.PresenceUnavailable)) != 1 || len(presences(bobEP.take(), crosstalk.PresenceUnavailable)) != 1 {
		t.Fatal("unavailable did not reach bob and carol")
	}
	if agg := f.hub.Aggregate(addr("alice")); agg.Type != crosstalk.PresenceUnavailable {
		t.Fatalf("aggregate of offline alice: %+v", agg)
	}
}

func TestPendingRequestResentAtLogin(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	f.subscribe("alice", "bob", crosstalk.PresenceSubscribe) // bob offline
	bobEP, _ := f.online("bob/phone", 0)
	if p := presences(bobEP.take(), crosstalk.PresenceSubscribe); len(p) != 1 || p[0].From != addr("alice") {
		t.Fatalf("pending request at login: %+v", p)
	}
}

func TestAccountChangesEndSessions(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	a1, _ := f.online("alice/pc", 0)
	a2, _ := f.online("alice/phone", 0)
	if err := f.hub.SetPassword(f.ctx, addr("alice"), "new password", crosstalk.MinSCRAMIterations); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(a1.closedWith(), crosstalk.ErrAccountGone) || !errors.Is(a2.closedWith(), crosstalk.ErrAccountGone) {
		t.Fatalf("sessions after password change: %v %v", a1.closedWith(), a2.closedWith())
	}
	acct, _ := f.store.GetAccount(f.ctx, addr("alice"))
	if !acct.Credentials.VerifyPassword("new password") {
		t.Fatal("new password does not verify")
	}
	b, _ := f.online("bob/pc", 0)
	if err := f.hub.DeleteAccount(f.ctx, addr("bob")); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(b.closedWith(), crosstalk.ErrAccountGone) {
		t.Fatalf("session after delete: %v", b.closedWith())
	}
	if _, err := f.store.GetAccount(f.ctx, addr("bob")); !errors.Is(err, crosstalk.ErrNoSuchAccount) {
		t.Fatalf("deleted account: %v", err)
	}
}

func TestRemoteAndBlocked(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	if err := f.send(alice, addr("bob@remote.example"), "hi"); err != nil {
		t.Fatal(err)
	}
	if len(f.remote.events) != 1 {
		t.Fatalf("remote router got %d events", len(f.remote.events))
	}
	noFed := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}}, f.store, zerolog.Nop())
	if err := noFed.RouteMessage(f.ctx, &crosstalk.Message{From: alice, To: addr("bob@remote.example"), Type: crosstalk.MessageChat}); !errors.Is(err, crosstalk.ErrRemoteNotSupported) {
		t.Fatalf("without federation: %v", err)
	}
	// Blocking works offline (from the store) and online (from the cache),
	// and unblocking takes effect at once.
	if err := f.hub.Block(f.ctx, addr("bob"), crosstalk.MustParseAddress("example.com")); err != nil {
		t.Fatal(err)
	}
	if err := f.send(alice, addr("bob"), "blocked"); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("blocked sender, bob offline: %v", err)
	}
	bob, _ := f.online("bob/phone", 0)
	if err := f.send(alice, addr("bob"), "blocked"); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("blocked sender, bob online: %v", err)
	}
	if err := f.hub.Unblock(f.ctx, addr("bob")); err != nil {
		t.Fatal(err)
	}
	if err := f.send(alice, addr("bob"), "welcome"); err != nil || len(messages(bob.take())) != 1 {
		t.Fatalf("after unblock: %v", err)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	f := newFixture(t, false, "alice")
	ep, _ := f.online("alice/pc", 0)
	ctx, cancel := context.WithTimeout(f.ctx, time.Second)
	defer cancel()
	if err := f.hub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(ep.closedWith(), crosstalk.ErrShuttingDown) {
		t.Fatalf("closed with %v", ep.closedWith())
	}
	if _, err := f.hub.Bind(f.ctx, addr("alice/pc"), newEndpoint(1)); !errors.Is(err, crosstalk.ErrShuttingDown) {
		t.Fatalf("bind after close: %v", err)
	}
}

// TestHubConcurrentUse binds, routes, changes presence and unbinds from many
// goroutines at once; under -race it proves the hub's locking, and every
// message ends up delivered or stored, exactly once.
func TestHubConcurrentUse(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	const workers, rounds = 4, 50
	var wg sync.WaitGroup
	counts := make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				ep := newEndpoint(1024)
				a, err := f.hub.Bind(f.ctx, addr(fmt.Sprintf("bob/r%d", w)), ep)
				if err != nil {
					t.Error(err)
					return
				}
				if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: a, Priority: int8(w)}); err != nil { // distinct: no ties, one copy each
					t.Error(err)
					return
				}
				if err := f.send(alice, addr("bob"), fmt.Sprint(w, "-", i)); err != nil {
					t.Error(err)
					return
				}
				counts[w] += len(messages(ep.take()))
				ep.Close(crosstalk.ErrEndpointClosed)
				f.hub.Unbind(f.ctx, a, ep, ep.left)
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	stored, err := f.store.CountOffline(f.ctx, addr("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if total+stored != workers*rounds {
		t.Fatalf("%d delivered + %d stored, want the %d sent, each once", total, stored, workers*rounds)
	}
}

// TestOfflineBacklogLargerThanQueue stores more offline messages than the
// endpoint's queue holds: they arrive in order as the queue drains, and the
// endpoint is not disconnected as a slow consumer.
func TestOfflineBacklogLargerThanQueue(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	const n = 25
	for i := range n {
		if err := f.send(alice, addr("bob"), fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	ep := newEndpoint(10)
	b, err := f.hub.Bind(f.ctx, addr("bob/phone"), ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: b}); err != nil {
		t.Fatal(err)
	}
	var got []string
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		for _, m := range messages(ep.take()) {
			if !m.Delayed {
				t.Fatalf("offline message %q not marked delayed", m.Body)
			}
			got = append(got, m.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != n {
		t.Fatalf("got %d of %d offline messages", len(got), n)
	}
	for i, body := range got {
		if body != fmt.Sprint("m", i) {
			t.Fatalf("offline order: %d is %q", i, body)
		}
	}
	if err := ep.closedWith(); err != nil {
		t.Fatalf("the endpoint was closed: %v", err)
	}
	if left, _ := f.store.CountOffline(f.ctx, addr("bob")); left != 0 {
		t.Fatalf("%d messages left offline", left)
	}
}

// racingStore runs a hook before each PushOffline, to open the window
// between the hub's choice of endpoints and the offline push.
type racingStore struct {
	crosstalk.Store
	beforePush func()
}

func (s *racingStore) PushOffline(ctx context.Context, owner crosstalk.Address, m crosstalk.Message) error {
	if s.beforePush != nil {
		hook := s.beforePush
		s.beforePush = nil
		hook()
	}
	return s.Store.PushOffline(ctx, owner, m)
}

// TestOfflinePushRacesLogin: bob comes online (and finds his offline queue
// empty) just after a message to him was routed to offline storage but
// before it was stored. The message must still reach him now, once.
func TestOfflinePushRacesLogin(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	rs := &racingStore{Store: f.store}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}}, rs, zerolog.Nop())
	t.Cleanup(func() { _ = hub.Close(f.ctx) })
	ep := newEndpoint(16)
	rs.beforePush = func() {
		b, err := hub.Bind(f.ctx, addr("bob/phone"), ep)
		if err != nil {
			t.Error(err)
			return
		}
		if err := hub.SetPresence(f.ctx, &crosstalk.Presence{From: b}); err != nil {
			t.Error(err)
		}
	}
	if err := hub.RouteMessage(f.ctx, &crosstalk.Message{ID: "racy", From: addr("alice/pc"), To: addr("bob"), Type: crosstalk.MessageChat, Body: "racy"}); err != nil {
		t.Fatal(err)
	}
	if ms := messages(ep.take()); len(ms) != 1 || ms[0].Body != "racy" {
		t.Fatalf("bob got %d messages, want the racy one", len(ms))
	}
	if n, _ := f.store.CountOffline(f.ctx, addr("bob")); n != 0 {
		t.Fatalf("%d messages left offline", n)
	}
}
