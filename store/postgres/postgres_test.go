package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/postgres"
	"github.com/crosstalk-im/crosstalk/store/storetest"
)

// baseURL is the test database from CROSSTALK_TEST_POSTGRES. Without it the
// tests skip, except in CI (CI=true), where they fail.
func baseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CROSSTALK_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CROSSTALK_TEST_POSTGRES is not set; in CI the PostgreSQL contract tests must run")
		}
		t.Skip("CROSSTALK_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test)")
	}
	return u
}

// newSchema creates a schema of its own for t, dropped when t ends, and
// returns a URL whose search_path selects it.
func newSchema(t testing.TB) string {
	t.Helper()
	base := baseURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to CROSSTALK_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "ct_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t testing.TB, u string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), u, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newStore(t *testing.T) crosstalk.Store {
	st := open(t, newSchema(t))
	t.Cleanup(func() { st.Close() }) // registered after the schema's: runs first
	return st
}

func TestContract(t *testing.T) {
	baseURL(t)
	storetest.Run(t, newStore)
}

func TestDurability(t *testing.T) {
	baseURL(t)
	storetest.RunDurability(t, func(t *testing.T) func(t *testing.T) crosstalk.Store {
		u := newSchema(t)
		return func(t *testing.T) crosstalk.Store { return open(t, u) }
	})
}

func TestSearchPathIsolates(t *testing.T) {
	ctx := t.Context()
	a, b := open(t, newSchema(t)), open(t, newSchema(t))
	defer a.Close()
	defer b.Close()
	alice := crosstalk.MustParseAddress("alice@example.com")
	if err := a.CreateAccount(ctx, crosstalk.Account{Address: alice}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetAccount(ctx, alice); err == nil {
		t.Fatal("an account created in one schema is visible in another")
	}
	// Reopening migrates nothing and keeps the data.
	u := newSchema(t)
	for range 2 {
		st := open(t, u)
		if err := st.CreateAccount(ctx, crosstalk.Account{Address: alice}); err != nil && !strings.Contains(err.Error(), "exists") {
			t.Fatal(err)
		}
		st.Close()
	}
}

func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	st, err := postgres.Open(t.Context(), "postgres://postgres:secret@127.0.0.1:1/test?connect_timeout=30", zerolog.Nop())
	if err == nil {
		st.Close()
		t.Fatal("Open of an unreachable database succeeded")
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Open took %v to fail", d)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
	if !strings.HasPrefix(err.Error(), "postgres: open 127.0.0.1:1/test: ") {
		t.Errorf("error %q does not say what failed", err)
	}
	t.Log(err)

	// A blackholed address (no answer at all) fails within the open timeout.
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start = time.Now()
	if st, err := postgres.Open(ctx, "postgres://postgres@192.0.2.1:5432/test", zerolog.Nop()); err == nil {
		st.Close()
		t.Fatal("Open of a blackholed address succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open ignored its context: %v", d)
	}
}

func TestOpenBadURL(t *testing.T) {
	if st, err := postgres.Open(t.Context(), "postgres://user:pa ss@[bad/", zerolog.Nop()); err == nil {
		st.Close()
		t.Fatal("Open of a malformed URL succeeded")
	} else if strings.Contains(err.Error(), "pa ss") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestOpenMissingSchema(t *testing.T) {
	u, err := url.Parse(baseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "ct_no_such_schema")
	u.RawQuery = q.Encode()
	if st, err := postgres.Open(t.Context(), u.String(), zerolog.Nop()); err == nil {
		st.Close()
		t.Fatal("Open with a search_path naming no schema succeeded")
	} else {
		t.Log(err)
	}
}

func benchStore(b *testing.B) *postgres.Store {
	st := open(b, newSchema(b))
	b.Cleanup(func() { st.Close() })
	return st
}

func BenchmarkOfflinePushClaim(b *testing.B) { storetest.BenchOfflinePushClaim(b, benchStore(b)) }
func BenchmarkArchiveAppend(b *testing.B)    { storetest.BenchArchiveAppend(b, benchStore(b)) }
func BenchmarkArchivePage(b *testing.B)      { storetest.BenchArchivePage(b, benchStore(b)) }
