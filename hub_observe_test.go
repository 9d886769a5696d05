package crosstalk_test

import (
	"sync"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

type recordingObserver struct {
	mu       sync.Mutex
	presence map[crosstalk.Address]int
	roster   map[crosstalk.Address]int
}

func (o *recordingObserver) PresenceChanged(owner crosstalk.Address) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.presence[owner]++
}

func (o *recordingObserver) RosterChanged(owner crosstalk.Address) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.roster[owner]++
}

func (o *recordingObserver) counts(a crosstalk.Address) (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.presence[a], o.roster[a]
}

// TestObserverSeesPresenceAndRoster: an observer hears of every presence
// broadcast of an account and of every roster change.
func TestObserverSeesPresenceAndRoster(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	o := &recordingObserver{presence: map[crosstalk.Address]int{}, roster: map[crosstalk.Address]int{}}
	f.hub.Observe(o)
	ep, a := f.online("alice/phone", 0)
	if p, _ := o.counts(addr("alice")); p != 1 {
		t.Fatalf("presence changes seen: %d, want 1", p)
	}
	f.subscribe("bob", "alice", crosstalk.PresenceSubscribe)
	if _, r := o.counts(addr("alice")); r == 0 {
		t.Fatal("the subscription request changed alice's roster unseen")
	}
	f.hub.Unbind(f.ctx, a, ep, nil)
	if p, _ := o.counts(addr("alice")); p != 2 {
		t.Fatalf("presence changes seen: %d, want 2 (unavailable)", p)
	}
}

type sourceEndpoint struct{ *endpoint }

func (sourceEndpoint) PresenceOnly() {}

// TestPresenceSourceGetsNoMessages: a presence source counts in the
// aggregate and is fanned out, but gets no messages, not even offline
// ones at its initial presence.
func TestPresenceSourceGetsNoMessages(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	f.befriend("alice", "bob")
	if err := f.send(addr("bob"), addr("alice"), "stored"); err != nil {
		t.Fatal(err)
	}
	watch, _ := f.online("bob/desk", 0)
	watch.take()
	src := sourceEndpoint{newEndpoint(16)}
	a, err := f.hub.Bind(f.ctx, addr("alice/pub-1"), src)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: a, Show: crosstalk.ShowAway}); err != nil {
		t.Fatal(err)
	}
	if agg := f.hub.Aggregate(addr("alice")); !agg.Available() || agg.Show != crosstalk.ShowAway {
		t.Fatalf("aggregate: %+v", agg)
	}
	if got := presences(watch.take(), crosstalk.PresenceAvailable); len(got) != 1 {
		t.Fatalf("bob saw %d presences of the source, want 1", len(got))
	}
	if err := f.send(addr("bob"), addr("alice"), "live"); err != nil {
		t.Fatal(err)
	}
	if got := messages(src.take()); len(got) != 0 {
		t.Fatalf("the presence source got %d messages", len(got))
	}
	msgs, err := f.store.ClaimOffline(f.ctx, addr("alice"), 0)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("offline: %d messages (%v), want both kept", len(msgs), err)
	}
}
