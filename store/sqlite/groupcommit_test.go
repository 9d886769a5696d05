package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "g.db"), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestGroupCommitIsolation runs many writes at once, so that they share
// transactions, and checks that each is all-or-nothing on its own: a
// failing write (its statement ran, then it returned an error) leaves no
// trace, a cancelled one none either, and every other write is stored.
func TestGroupCommitIsolation(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	errNo := errors.New("refused")
	const n = 300
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx
			if i%7 == 0 {
				c = cancelled
			}
			errs[i] = s.atomic(c, func(q querier) error {
				if _, err := q.ExecContext(c, `INSERT INTO roster_versions (owner, version) VALUES (?, ?)`, fmt.Sprint("o", i), i); err != nil {
					return err
				}
				if i%3 == 0 {
					return errNo
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range n {
		var v int
		err := s.rdb.QueryRowContext(ctx, `SELECT version FROM roster_versions WHERE owner = ?`, fmt.Sprint("o", i)).Scan(&v)
		stored := err == nil && v == i
		want := i%3 != 0 && i%7 != 0
		if stored != want || (errs[i] == nil) != want {
			t.Fatalf("write %d: stored %v, error %v; want stored %v", i, stored, errs[i], want)
		}
	}
}

// BenchmarkConcurrentRosterWrites measures roster item writes from many
// goroutines at once, as a subscription storm makes them.
func BenchmarkConcurrentRosterWrites(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	owner := crosstalk.MustParseAddress("alice@example.test")
	var seq sync.Mutex
	next := 0
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			seq.Lock()
			next++
			i := next
			seq.Unlock()
			it := crosstalk.RosterItem{Contact: crosstalk.MustParseAddress(fmt.Sprintf("c%d@example.test", i))}
			if _, err := s.PutRosterItem(ctx, owner, it); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
