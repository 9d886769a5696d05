package sip

import (
	"bytes"
	"testing"
	"time"
)

// TestQueueDelayShare checks the share of requests refused for a given
// wait: none up to half the limit, about half at three quarters of it,
// all from the limit on, none again once the wait is short.
func TestQueueDelayShare(t *testing.T) {
	const limit = 100 * time.Millisecond
	req := []byte("MESSAGE sip:bob@localhost SIP/2.0\r\n\r\n")
	g := newLoadGuard(1 << 30)
	refusedOf := func(wait time.Duration, n int) int {
		t.Helper()
		if g.queued(wait, limit, req) {
			t.Fatalf("wait %v: discarded", wait)
		}
		before := g.refused.Load()
		for range n {
			if g.admit() {
				g.done()
			}
		}
		return int(g.refused.Load() - before)
	}
	if r := refusedOf(50*time.Millisecond, 1000); r != 0 {
		t.Fatalf("half the limit: %d of 1000 refused", r)
	}
	if r := refusedOf(75*time.Millisecond, 20000); r < 9000 || r > 11000 {
		t.Fatalf("three quarters of the limit: %d of 20000 refused, want about half", r)
	}
	if r := refusedOf(limit, 1000); r != 1000 {
		t.Fatalf("the limit: %d of 1000 refused", r)
	}
	if r := refusedOf(time.Millisecond, 1000); r != 0 {
		t.Fatalf("after the queue drained: %d of 1000 refused", r)
	}
	if g.trips.Load() != 1 {
		t.Fatalf("%d trips, want 1", g.trips.Load())
	}
	if !g.queued(staleWait+time.Millisecond, limit, req) {
		t.Fatal("a request past the stale wait was kept")
	}
}

// FuzzDiscardable checks that no datagram panics the check, and that only
// a request line's method other than ACK and CANCEL is discardable.
func FuzzDiscardable(f *testing.F) {
	for _, s := range []string{"MESSAGE sip:a@b SIP/2.0\r\n", "SIP/2.0 200 OK\r\n", "ACK sip:a@b SIP/2.0", "CANCEL x", "\r\n\r\n", " x", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		if !discardable(d) {
			return
		}
		method, _, ok := bytes.Cut(d, []byte(" "))
		if !ok || len(method) == 0 || bytes.HasPrefix(d, []byte("SIP/")) || string(method) == "ACK" || string(method) == "CANCEL" {
			t.Fatalf("%q discardable", d)
		}
	})
}
