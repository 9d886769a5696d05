package crosstalk_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// rosterCountingStore counts roster reads.
type rosterCountingStore struct {
	crosstalk.Store
	reads atomic.Int64
}

func (s *rosterCountingStore) GetRoster(ctx context.Context, owner crosstalk.Address) (crosstalk.Roster, error) {
	s.reads.Add(1)
	return s.Store.GetRoster(ctx, owner)
}

// TestRosterCachedWhileOnline checks that a login (roster get, initial
// presence, the watchers of that presence) reads an online account's
// roster from the store once, that a roster change is seen at once, and
// that an offline account's roster comes from the store.
func TestRosterCachedWhileOnline(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, t.TempDir()+"/hub.db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	st := &rosterCountingStore{Store: sq}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}}, st, zerolog.Nop())
	t.Cleanup(func() { _ = hub.Close(ctx) })
	for _, u := range []string{"alice", "bob"} {
		if err := hub.CreateAccount(ctx, addr(u), "secret-"+u, crosstalk.MinSCRAMIterations); err != nil {
			t.Fatal(err)
		}
	}
	ep := newEndpoint(256)
	a, err := hub.Bind(ctx, addr("alice/phone"), ep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Roster(ctx, addr("alice")); err != nil {
		t.Fatal(err)
	}
	if err := hub.SetPresence(ctx, &crosstalk.Presence{From: a}); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Roster(ctx, addr("alice")); err != nil {
		t.Fatal(err)
	}
	if n := st.reads.Load(); n != 1 {
		t.Fatalf("%d roster reads for a login, want 1", n)
	}
	if err := hub.SetRosterItem(ctx, addr("alice"), crosstalk.RosterItem{Contact: addr("bob"), Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	r, err := hub.Roster(ctx, addr("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Items) != 1 || r.Items[0].Name != "Bob" {
		t.Fatalf("roster after a change: %+v", r.Items)
	}
	hub.Unbind(ctx, a, ep, nil)
	before := st.reads.Load()
	for range 2 {
		if _, err := hub.Roster(ctx, addr("alice")); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.reads.Load() - before; n != 2 {
		t.Fatalf("%d store reads for two roster gets of an offline account, want 2", n)
	}
}

// TestLogoutReadsNoRoster checks that a whole session — roster get,
// initial presence, logout — reads the roster from the store once: the
// unavailable presence of the last endpoint goes to the watchers cached
// while the account was online, and reaches them.
func TestLogoutReadsNoRoster(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, t.TempDir()+"/hub.db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	st := &rosterCountingStore{Store: sq}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}}, st, zerolog.Nop())
	t.Cleanup(func() { _ = hub.Close(ctx) })
	for _, u := range []string{"alice", "bob"} {
		if err := hub.CreateAccount(ctx, addr(u), "secret-"+u, crosstalk.MinSCRAMIterations); err != nil {
			t.Fatal(err)
		}
	}
	// bob sees alice's presence.
	if _, err := sq.PutRosterItem(ctx, addr("alice"), crosstalk.RosterItem{Contact: addr("bob"),
		SubscriptionState: crosstalk.SubscriptionState{Subscription: crosstalk.SubscriptionFrom}}); err != nil {
		t.Fatal(err)
	}
	bobEP := newEndpoint(256)
	b, err := hub.Bind(ctx, addr("bob/pc"), bobEP)
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.SetPresence(ctx, &crosstalk.Presence{From: b}); err != nil {
		t.Fatal(err)
	}
	bobEP.take()
	before := st.reads.Load()
	ep := newEndpoint(256)
	a, err := hub.Bind(ctx, addr("alice/phone"), ep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Roster(ctx, addr("alice")); err != nil {
		t.Fatal(err)
	}
	if err := hub.SetPresence(ctx, &crosstalk.Presence{From: a}); err != nil {
		t.Fatal(err)
	}
	hub.Unbind(ctx, a, ep, nil)
	if n := st.reads.Load() - before; n != 1 {
		t.Fatalf("%d roster reads for a login and logout, want 1", n)
	}
	evs := bobEP.take()
	if len(presences(evs, crosstalk.PresenceAvailable)) != 1 || len(presences(evs, crosstalk.PresenceUnavailable)) != 1 {
		t.Fatalf("bob got %d available and %d unavailable presences of alice, want 1 and 1: %+v",
			len(presences(evs, crosstalk.PresenceAvailable)), len(presences(evs, crosstalk.PresenceUnavailable)), evs)
	}
}
