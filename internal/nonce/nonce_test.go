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
