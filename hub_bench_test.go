package crosstalk_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// drainedEndpoint is an endpoint whose writer drains its mailbox as fast as
// it fills, like a session writing to a fast socket.
type drainedEndpoint struct {
	mb   *crosstalk.Mailbox
	got  atomic.Int64
	done chan struct{}
}

func newDrained() *drainedEndpoint {
	e := &drainedEndpoint{mb: crosstalk.NewMailbox(1<<16, 1<<30), done: make(chan struct{})}
	go func() {
		var buf []crosstalk.Event
		for {
			select {
			case <-e.mb.Ready():
				buf = e.mb.Take(buf[:0])
				e.got.Add(int64(len(buf)))
			case <-e.done:
				return
			}
		}
	}()
	return e
}

func (e *drainedEndpoint) Protocol() crosstalk.Protocol     { return crosstalk.ProtocolXMPP }
func (e *drainedEndpoint) Deliver(ev crosstalk.Event) error { return e.mb.Put(ev) }
func (e *drainedEndpoint) Close(error)                      { e.mb.Close() }

func bindOnline(b *testing.B, hub *crosstalk.Hub, full string) (*drainedEndpoint, crosstalk.Address) {
	ep := newDrained()
	b.Cleanup(func() { close(ep.done) })
	a, err := hub.Bind(context.Background(), addr(full), ep)
	if err != nil {
		b.Fatal(err)
	}
	if err := hub.SetPresence(context.Background(), &crosstalk.Presence{From: a}); err != nil {
		b.Fatal(err)
	}
	return ep, a
}

// BenchmarkHubRoute routes a chat message between two online endpoints, to
// the full and to the bare address, and from many pairs at once.
func BenchmarkHubRoute(b *testing.B) {
	ctx := context.Background()
	for _, target := range []string{"full", "bare", "full-archived"} {
		b.Run(target, func(b *testing.B) {
			f := newFixture(b, target == "full-archived", "alice", "bob")
			_, alice := bindOnline(b, f.hub, "alice/pc")
			_, bob := bindOnline(b, f.hub, "bob/phone")
			to := bob
			if target == "bare" {
				to = bob.Bare()
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := f.hub.RouteMessage(ctx, &crosstalk.Message{From: alice, To: to, Type: crosstalk.MessageChat, Body: "hello"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parallel-pairs", func(b *testing.B) {
		const pairs = 16
		users := make([]string, 0, 2*pairs)
		for i := range pairs {
			users = append(users, fmt.Sprint("a", i), fmt.Sprint("b", i))
		}
		f := newFixture(b, false, users...)
		from := make([]crosstalk.Address, pairs)
		to := make([]crosstalk.Address, pairs)
		for i := range pairs {
			_, from[i] = bindOnline(b, f.hub, fmt.Sprint("a", i, "/pc"))
			_, to[i] = bindOnline(b, f.hub, fmt.Sprint("b", i, "/pc"))
		}
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1)) % pairs
			for pb.Next() {
				if err := f.hub.RouteMessage(ctx, &crosstalk.Message{From: from[i], To: to[i], Type: crosstalk.MessageChat, Body: "hello"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkPresenceFanout sends one presence change to 20 and to 150
// subscribed contacts, each online with one endpoint.
func BenchmarkPresenceFanout(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{20, 150} {
		b.Run(fmt.Sprint(n, "-contacts"), func(b *testing.B) {
			users := []string{"alice"}
			for i := range n {
				users = append(users, fmt.Sprint("c", i))
			}
			f := newFixture(b, false, users...)
			for _, u := range users[1:] {
				it := crosstalk.RosterItem{Contact: addr(u), SubscriptionState: crosstalk.SubscriptionState{Subscription: crosstalk.SubscriptionBoth}}
				if _, err := f.store.PutRosterItem(ctx, addr("alice"), it); err != nil {
					b.Fatal(err)
				}
				bindOnline(b, f.hub, u+"/pc")
			}
			_, alice := bindOnline(b, f.hub, "alice/pc")
			shows := [...]crosstalk.Show{crosstalk.ShowAway, crosstalk.ShowDND}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if err := f.hub.SetPresence(ctx, &crosstalk.Presence{From: alice, Show: shows[i%2]}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		})
	}
}

// BenchmarkRoomFanout sends one groupchat message into a room of 500
// occupants, each online with one endpoint (issue 7's figure: time to the
// last delivery, and per delivery).
func BenchmarkRoomFanout(b *testing.B) {
	const n = 500
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprint("u", i)
	}
	f := roomFixture(b, b.TempDir()+"/r.db", users...)
	var first crosstalk.Address
	for i, u := range users {
		_, a := bindOnline(b, f.hub, u+"/pc")
		if i == 0 {
			first = a
		}
		if err := f.join(a, "big", u, &crosstalk.RoomJoin{MaxStanzas: 0}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := f.say(first, "big", "hello everyone"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
}
