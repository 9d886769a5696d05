package storetest

import (
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// RunDurability checks that committed data survives closing the store and
// opening it again. newData prepares fresh, empty storage for t and returns
// an open function that opens a store on that same storage each time it is
// called; the test closes every store it opens.
func RunDurability(t *testing.T, newData func(t *testing.T) (open func(t *testing.T) crosstalk.Store)) {
	open := newData(t)
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")

	s := open(t)
	must(t, writeEverything(ctx, s, alice))
	for i := range 3 {
		must(t, s.PushOffline(ctx, bob, fullMessage(10+i, "alice@example.com", "bob@example.com", base)))
	}
	first, err := s.ClaimOffline(ctx, bob, 2)
	must(t, err)
	v, err := s.PutRosterItem(ctx, bob, crosstalk.RosterItem{Contact: alice})
	must(t, err)
	page, err := s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{})
	must(t, err)
	must(t, s.Close())

	s = open(t)
	checkEverything(t, s, alice, true)
	rest, err := s.ClaimOffline(ctx, bob, 0)
	must(t, err)
	if len(rest) != 1 || rest[0].Seq <= first[1].Seq {
		t.Fatalf("offline after reopening: %+v", rest)
	}
	equal(t, "offline after reopening", normMessage(rest[0].Message), normMessage(fullMessage(12, "alice@example.com", "bob@example.com", base)))
	r, err := s.GetRoster(ctx, bob)
	must(t, err)
	if r.Version != v {
		t.Fatalf("roster version %d after reopening, want %d", r.Version, v)
	}
	v2, err := s.PutRosterItem(ctx, bob, crosstalk.RosterItem{Contact: addr("dave@example.com")})
	must(t, err)
	if v2 <= v {
		t.Fatalf("version %d after reopening, was %d", v2, v)
	}
	page2, err := s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{})
	must(t, err)
	equal(t, "archive after reopening", page2, page)
	id, err := s.AppendArchive(ctx, alice, crosstalk.ArchivedMessage{Message: fullMessage(20, "bob@example.com", "alice@example.com", base)})
	must(t, err)
	if id <= page.Messages[len(page.Messages)-1].ID {
		t.Fatalf("archive id %q after reopening is not after %q", id, page.Messages[len(page.Messages)-1].ID)
	}
	must(t, s.Close())
}
