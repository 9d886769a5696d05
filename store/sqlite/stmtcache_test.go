package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
)

// TestStmtCache checks that reads are prepared once and reused, that
// statements met inside a transaction of the single writer run (unprepared,
// without waiting for the connection the transaction holds) and are
// prepared for later, and that results are those of the unprepared path.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	alice := crosstalk.MustParseAddress("alice@example.test")
	for i := range 3 {
		err := s.InTransaction(ctx, func(tx crosstalk.Store) error {
			_, err := tx.PutRosterItem(ctx, alice, crosstalk.RosterItem{Contact: crosstalk.MustParseAddress("bob" + string(rune('a'+i)) + "@example.test")})
			return err
		})
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	cached := func() int {
		s.rstmts.mu.Lock()
		defer s.rstmts.mu.Unlock()
		return len(s.rstmts.m)
	}
	read := func() {
		r, err := s.GetRoster(ctx, alice)
		if err != nil || len(r.Items) != 3 || r.Version != 3 {
			t.Fatalf("roster: %+v, %v", r, err)
		}
	}
	read() // inside a read transaction: prepared in the background
	// Wait until the background preparations settle: the count is at
	// least 2 and unchanged over 10 checks (a roster read has several
	// statements, prepared one by one).
	n, same := cached(), 0
	for i := 0; (n < 2 || same < 10) && i < 1000; i++ {
		time.Sleep(10 * time.Millisecond)
		if c := cached(); c == n {
			same++
		} else {
			n, same = c, 0
		}
	}
	for range 3 {
		read()
	}
	if n < 2 || cached() != n { // at least the version and the items, once
		t.Fatalf("%d read statements cached after one roster read, %d after four", n, cached())
	}
	if st := s.rstmts.get(ctx, "SAVEPOINT sp1", false); st != nil {
		t.Fatal("a savepoint command was cached")
	}
}
