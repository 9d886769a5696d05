package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

func testOffline(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")

	n, err := s.CountOffline(ctx, alice)
	must(t, err)
	if n != 0 {
		t.Fatalf("count of an empty queue: %d", n)
	}
	got, err := s.ClaimOffline(ctx, alice, 0)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("claim from an empty queue: %+v", got)
	}

	var want []crosstalk.Message
	for i := range 5 {
		// Times go backwards: the queue keeps push order, not time order.
		m := fullMessage(i, "carol@example.org/phone", "alice@example.com", base.Add(-time.Duration(i)*time.Second))
		if i == 2 {
			m.Native = crosstalk.Native{Protocol: crosstalk.ProtocolSIP, ContentType: "text/plain;charset=utf-8", Payload: []byte("hi")}
			m.Type = crosstalk.MessageNormal
		}
		want = append(want, m)
	}
	// A minimal message: zero addresses, zero time, no payload.
	want = append(want, crosstalk.Message{Body: "minimal"})
	for _, m := range want {
		must(t, s.PushOffline(ctx, alice, m))
	}
	must(t, s.PushOffline(ctx, bob, fullMessage(99, "carol@example.org", "bob@example.com", base)))

	n, err = s.CountOffline(ctx, alice)
	must(t, err)
	if n != len(want) {
		t.Fatalf("count %d, want %d", n, len(want))
	}

	check := func(got []crosstalk.OfflineMessage, want []crosstalk.Message, lastSeq int64) int64 {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("claimed %d messages, want %d", len(got), len(want))
		}
		for i, om := range got {
			if om.Seq <= lastSeq {
				t.Fatalf("seq %d after %d", om.Seq, lastSeq)
			}
			lastSeq = om.Seq
			equal(t, "claimed message", normMessage(om.Message), normMessage(want[i]))
		}
		return lastSeq
	}
	got, err = s.ClaimOffline(ctx, alice, 2)
	must(t, err)
	last := check(got, want[:2], 0)
	n, err = s.CountOffline(ctx, alice)
	must(t, err)
	if n != len(want)-2 {
		t.Fatalf("count after claiming 2: %d", n)
	}
	got, err = s.ClaimOffline(ctx, alice, -1)
	must(t, err)
	check(got, want[2:], last)
	got, err = s.ClaimOffline(ctx, alice, 0)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("claimed %d messages twice", len(got))
	}
	n, err = s.CountOffline(ctx, bob)
	must(t, err)
	if n != 1 {
		t.Fatalf("bob's queue: %d, want 1", n)
	}

	// Pushes after a claim queue behind it.
	must(t, s.PushOffline(ctx, alice, want[0]))
	got, err = s.ClaimOffline(ctx, alice, 10)
	must(t, err)
	check(got, want[:1], last)
}

func testOfflineConcurrent(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice := addr("alice@example.com")
	const total, claimers, limit = 60, 6, 4
	for i := range total {
		must(t, s.PushOffline(ctx, alice, fullMessage(i, "bob@example.com", "alice@example.com", base)))
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for c := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimOffline(ctx, alice, limit)
				if err != nil {
					t.Errorf("claimer %d: %v", c, err)
					return
				}
				if len(got) == 0 {
					return
				}
				if len(got) > limit {
					t.Errorf("claimer %d got %d messages, limit %d", c, len(got), limit)
				}
				if !slices.IsSortedFunc(got, func(a, b crosstalk.OfflineMessage) int { return int(a.Seq - b.Seq) }) {
					t.Errorf("claimer %d got a batch out of order", c)
				}
				mu.Lock()
				for _, om := range got {
					seen[om.Message.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != total {
		t.Errorf("%d distinct messages delivered, want %d", len(seen), total)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %s delivered %d times", id, k)
		}
	}
	n, err := s.CountOffline(ctx, alice)
	must(t, err)
	if n != 0 {
		t.Errorf("%d messages left", n)
	}
}
