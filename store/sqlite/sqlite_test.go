package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
	"github.com/crosstalk-im/crosstalk/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newStore(t *testing.T) crosstalk.Store {
	st := open(t, filepath.Join(t.TempDir(), "crosstalk.db"))
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

func TestContract(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestDurability(t *testing.T) {
	storetest.RunDurability(t, func(t *testing.T) func(t *testing.T) crosstalk.Store {
		path := filepath.Join(t.TempDir(), "crosstalk.db")
		return func(t *testing.T) crosstalk.Store { return open(t, path) }
	})
}

func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "data.db")
	st := open(t, path)
	defer st.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	// A second store on the same file works beside the first.
	st2 := open(t, path)
	defer st2.Close()
	if err := st2.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenReopenKeepsSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	for range 3 {
		st := open(t, path)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenUnwritable(t *testing.T) {
	dir := t.TempDir()
	var path string
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	if f, err := os.Create(filepath.Join(ro, "probe")); err == nil {
		// Root ignores permissions: use a path under a regular file, which
		// no one can create.
		f.Close()
		file := filepath.Join(dir, "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(file, "sub", "crosstalk.db")
	} else {
		path = filepath.Join(ro, "sub", "crosstalk.db")
	}
	st, err := sqlite.Open(t.Context(), path, zerolog.Nop())
	if err == nil {
		st.Close()
		t.Fatalf("Open(%s) succeeded", path)
	}
	if !strings.Contains(err.Error(), path) || !strings.HasPrefix(err.Error(), "sqlite: ") {
		t.Errorf("error %q does not say which path failed", err)
	}
	t.Log(err)

	// A read-only database file (not for root, which may write anyway).
	if os.Geteuid() != 0 {
		file := filepath.Join(dir, "readonly.db")
		open(t, file).Close()
		if err := os.Chmod(file, 0o400); err != nil {
			t.Fatal(err)
		}
		if st, err := sqlite.Open(t.Context(), file, zerolog.Nop()); err == nil {
			st.Close()
			t.Fatal("opening a read-only file succeeded")
		}
	}
}

func TestOpenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), zerolog.Nop()); err == nil {
		st.Close()
		t.Fatal("Open with a cancelled context succeeded")
	}
	if time.Since(start) > time.Second {
		t.Fatal("Open with a cancelled context was slow")
	}
}

func benchStore(b *testing.B) *sqlite.Store {
	st := open(b, filepath.Join(b.TempDir(), "bench.db"))
	b.Cleanup(func() { st.Close() })
	return st
}

func BenchmarkOfflinePushClaim(b *testing.B) { storetest.BenchOfflinePushClaim(b, benchStore(b)) }
func BenchmarkArchiveAppend(b *testing.B)    { storetest.BenchArchiveAppend(b, benchStore(b)) }
func BenchmarkArchivePage(b *testing.B)      { storetest.BenchArchivePage(b, benchStore(b)) }
func BenchmarkLoginReads(b *testing.B)       { storetest.BenchLoginReads(b, benchStore(b)) }

// TestPointReadsCancelled checks that the login's reads, which run to the
// end once started (pointRead), still refuse a context already done.
func TestPointReadsCancelled(t *testing.T) {
	st := newStore(t)
	owner := crosstalk.MustParseAddress("alice@example.com")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := st.GetAccount(ctx, owner); !errors.Is(err, context.Canceled) {
		t.Errorf("GetAccount: %v, want context.Canceled", err)
	}
	if _, err := st.GetRoster(ctx, owner); !errors.Is(err, context.Canceled) {
		t.Errorf("GetRoster: %v, want context.Canceled", err)
	}
	if _, err := st.ClaimOffline(ctx, owner, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("ClaimOffline: %v, want context.Canceled", err)
	}
	if _, err := st.ClientLoginTokens(ctx, owner, "phone"); !errors.Is(err, context.Canceled) {
		t.Errorf("ClientLoginTokens: %v, want context.Canceled", err)
	}
	if _, _, _, err := st.ArchiveBounds(ctx, owner); !errors.Is(err, context.Canceled) {
		t.Errorf("ArchiveBounds: %v, want context.Canceled", err)
	}
}
