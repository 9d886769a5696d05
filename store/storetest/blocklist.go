package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

func testBlocklist(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")

	l, err := s.Blocklist(ctx, alice)
	must(t, err)
	if len(l) != 0 {
		t.Fatalf("new blocklist %v", l)
	}
	must(t, s.Block(ctx, alice)) // nothing to block is no error

	entries := []crosstalk.Address{
		addr("spam@evil.example"),       // bare
		addr("evil.org"),                // domain
		addr("troll@example.net/phone"), // full
		addr("example.com/bot"),         // domain/resource
	}
	must(t, s.Block(ctx, alice, entries...))
	must(t, s.Block(ctx, alice, entries[0], entries[2])) // twice is fine
	must(t, s.Block(ctx, bob, addr("carol@example.org")))

	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b crosstalk.Address) int { return strings.Compare(a.String(), b.String()) })
	l, err = s.Blocklist(ctx, alice)
	must(t, err)
	equal(t, "blocklist", l, sorted)

	// XEP-0191 §3.5 with the XEP-0016 matching it refers to.
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"spam@evil.example", true},
		{"spam@evil.example/res", true}, // its bare address is blocked
		{"other@evil.example", false},
		{"evil.example", false},
		{"evil.org", true},
		{"anyone@evil.org", true}, // its domain is blocked
		{"anyone@evil.org/x", true},
		{"evil.org/x", true},
		{"sub.evil.org", false},
		{"troll@example.net/phone", true},
		{"troll@example.net/laptop", false},
		{"troll@example.net", false}, // a full entry does not block the bare address
		{"example.com/bot", true},
		{"someone@example.com/bot", true}, // domain/resource matches
		{"someone@example.com/other", false},
		{"example.com", false},
		{"carol@example.org", false}, // bob's entry
	} {
		got, err := s.IsBlocked(ctx, alice, addr(c.addr))
		must(t, err)
		if got != c.want {
			t.Errorf("IsBlocked(%s) = %v, want %v", c.addr, got, c.want)
		}
	}

	// Unblock some, including one that was never blocked.
	must(t, s.Unblock(ctx, alice, entries[0], entries[3], addr("never@example.com")))
	l, err = s.Blocklist(ctx, alice)
	must(t, err)
	equal(t, "after unblocking two", l, slices.DeleteFunc(sorted, func(a crosstalk.Address) bool { return a == entries[0] || a == entries[3] }))
	if b, err := s.IsBlocked(ctx, alice, addr("spam@evil.example")); err != nil || b {
		t.Fatalf("unblocked address still blocked: %v, %v", b, err)
	}

	// Unblock with no addresses empties the list, and only the owner's.
	must(t, s.Unblock(ctx, alice))
	l, err = s.Blocklist(ctx, alice)
	must(t, err)
	if len(l) != 0 {
		t.Fatalf("after unblocking all: %v", l)
	}
	l, err = s.Blocklist(ctx, bob)
	must(t, err)
	equal(t, "bob's blocklist", l, []crosstalk.Address{addr("carol@example.org")})
}
