package nonce

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := New(time.Minute, 3, func() time.Time { return now })
	n := s.Issue()
	if err := s.Use(n, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Use(n, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Use(n, 2); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed count: %v", err)
	}
	if err := s.Use(strings.Repeat("A", 48), 1); !errors.Is(err, ErrForged) {
		t.Fatalf("forged nonce: %v", err)
	}
	if err := New(time.Minute, 3, time.Now).Use(n, 3); !errors.Is(err, ErrForged) {
		t.Fatalf("another store's nonce: %v", err)
	}
	now = now.Add(time.Minute)
	if err := s.Use(n, 3); !errors.Is(err, ErrStale) {
		t.Fatalf("expired nonce: %v", err)
	}
	// Past max outstanding nonces some are forgotten; the store stays bounded.
	for range 10 {
		s.Issue()
	}
	if len(s.issued) > 3 {
		t.Fatalf("%d nonces kept, max 3", len(s.issued))
	}
}

// TestUseMalformed covers the nonces Use refuses before any HMAC: wrong
// length, not base64, and a tampered nonce of the right shape.
func TestUseMalformed(t *testing.T) {
	s := New(time.Minute, 10, time.Now)
	n := s.Issue()
	if len(n) != nonceLen {
		t.Fatalf("nonce %q has length %d, want %d", n, len(n), nonceLen)
	}
	tampered := []byte(n)
	tampered[30] ^= 1 // still base64 (A↔B, …), another MAC input
	if tampered[30] == '-' || tampered[30] == '_' {
		tampered[30] = 'A'
	}
	for _, bad := range []string{"", n[:47], n + "A", strings.Repeat("*", nonceLen), string(tampered)} {
		if err := s.Use(bad, 1); !errors.Is(err, ErrForged) {
			t.Errorf("Use(%q) = %v, want ErrForged", bad, err)
		}
	}
	if err := s.Use(n, 1); err != nil {
		t.Fatalf("the genuine nonce after the forged ones: %v", err)
	}
}

// BenchmarkUse is one check of a nonce and its count, as every request
// with credentials makes: 0 allocations.
func BenchmarkUse(b *testing.B) {
	s := New(time.Minute, 10, time.Now)
	n := s.Issue()
	b.ReportAllocs()
	nc := 0
	for b.Loop() {
		nc++
		if err := s.Use(n, nc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStoreForgetsOldest: past max outstanding nonces, the oldest are the
// ones forgotten (stale), and every one of the newest max still works.
func TestStoreForgetsOldest(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	const max = 50
	s := New(time.Hour, max, func() time.Time { return now })
	var ns []string
	for range 3 * max {
		now = now.Add(time.Millisecond)
		ns = append(ns, s.Issue())
	}
	if len(s.issued) > max {
		t.Fatalf("%d nonces kept, max %d", len(s.issued), max)
	}
	for i, n := range ns {
		err := s.Use(n, 1)
		if old := i < len(ns)-max; old && !errors.Is(err, ErrStale) {
			t.Fatalf("nonce %d of %d (old): %v, want ErrStale", i, len(ns), err)
		} else if !old && err != nil {
			t.Fatalf("nonce %d of %d (among the newest %d): %v", i, len(ns), max, err)
		}
	}
	// Expired nonces are forgotten by the next Issue, full or not.
	now = now.Add(time.Hour)
	s.Issue()
	if len(s.issued) != 1 {
		t.Fatalf("%d nonces kept after all expired, want 1", len(s.issued))
	}
}

// BenchmarkIssueFull issues nonces into a full store (100,000 outstanding,
// none expired), as a registrar under load does: each Issue forgets the
// oldest in constant time.
func BenchmarkIssueFull(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	s := New(time.Hour, 100000, func() time.Time { return now })
	for range 100000 {
		s.Issue()
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Issue()
	}
}
