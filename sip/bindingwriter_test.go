package sip

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// countingStore passes everything to a real store and counts the binding
// writes and transactions.
type countingStore struct {
	crosstalk.Store
	puts, dels, txs *atomic.Int64
}

func (c countingStore) PutRegistration(ctx context.Context, r crosstalk.Registration) error {
	c.puts.Add(1)
	return c.Store.PutRegistration(ctx, r)
}

func (c countingStore) DeleteRegistration(ctx context.Context, aor crosstalk.Address, key string) error {
	c.dels.Add(1)
	return c.Store.DeleteRegistration(ctx, aor, key)
}

func (c countingStore) InTransaction(ctx context.Context, fn func(tx crosstalk.Store) error) error {
	c.txs.Add(1)
	return c.Store.InTransaction(ctx, func(tx crosstalk.Store) error {
		return fn(countingStore{Store: tx, puts: c.puts, dels: c.dels, txs: c.txs})
	})
}

// TestBindingWriterCoalesces queues many changes of a few bindings and
// checks that one transaction writes only the last change of each.
func TestBindingWriterCoalesces(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/w.db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs := countingStore{Store: st, puts: new(atomic.Int64), dels: new(atomic.Int64), txs: new(atomic.Int64)}
	w := newBindingWriter(cs, time.Hour, zerolog.Nop()) // only sync and close write
	alice := crosstalk.MustParseAddress("alice@localhost")
	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	a := crosstalk.Registration{AOR: alice, Contact: "sip:alice@192.0.2.1:5060", Resource: "sip-a", CallID: "c1", Expires: exp}
	gone := crosstalk.Registration{AOR: alice, Contact: "sip:alice@192.0.2.2:5060", Resource: "sip-b", CallID: "c2", Expires: exp}
	for i := range 50 {
		a.CSeq = uint32(i + 1)
		a.Q = 100 + i
		w.put(a)
		w.put(gone)
	}
	w.remove(alice, gone.Key())
	if err := w.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if p, d, n := cs.puts.Load(), cs.dels.Load(), cs.txs.Load(); p != 1 || d != 1 || n != 1 {
		t.Fatalf("%d puts, %d deletes in %d transactions; want 1, 1, 1", p, d, n)
	}
	regs, err := st.ListRegistrations(ctx, alice, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 1 || regs[0].Q != 149 || regs[0].CSeq != 50 {
		t.Fatalf("stored %+v, want only the last change of the first binding", regs)
	}
	// A change after the sync is written by close (the graceful shutdown).
	a.Q = 7
	w.put(a)
	if err := w.close(ctx); err != nil {
		t.Fatal(err)
	}
	regs, _ = st.ListRegistrations(ctx, alice, time.Now())
	if len(regs) != 1 || regs[0].Q != 7 || cs.txs.Load() != 2 {
		t.Fatalf("after close: stored %+v in %d transactions", regs, cs.txs.Load())
	}
}

// TestBindingsSurviveGracefulRestart registers with a write delay so long
// that only the graceful shutdown can store the binding, refreshes it
// (which changes only its expiry, stored lazily), stops the server and
// starts a new one on the same store: the binding is back, with the
// refreshed expiry.
func TestBindingsSurviveGracefulRestart(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BindingWriteDelay = time.Hour }, "alice")
	a := newUA(t, "alice")
	aor := crosstalk.MustParseAddress("alice@localhost")
	wantStatus(t, a.register(e, 60), 200)
	if regs, _ := e.store.ListRegistrations(ctxT(t, time.Second), aor, time.Now()); len(regs) != 0 {
		t.Fatalf("binding stored before the write delay: %v", regs)
	}
	regs, err := e.storedBindings(aor) // written now
	if err != nil || len(regs) != 1 {
		t.Fatalf("stored %v, %v", regs, err)
	}
	first := regs[0].Expires

	// A refresh moving the expiry by less than a tenth of the lifetime is
	// not queued…
	time.Sleep(1100 * time.Millisecond)
	wantStatus(t, a.register(e, 60), 200)
	if regs, _ := e.storedBindings(aor); len(regs) != 1 || !regs[0].Expires.Equal(first) {
		t.Fatalf("plain refresh written at once: %v (first expiry %v)", regs, first)
	}
	// …but the graceful shutdown writes it.
	if err := e.srv.Shutdown(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	regs, _ = e.store.ListRegistrations(ctxT(t, time.Second), aor, time.Now())
	if len(regs) != 1 || !regs[0].Expires.After(first) {
		t.Fatalf("after shutdown: stored %v, want the refreshed expiry after %v", regs, first)
	}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"localhost"}}, e.store, zerolog.Nop())
	e2 := startEnv(t, e.store, hub, nil)
	waitFor(t, func() bool { return len(e2.hub.Endpoints(aor)) == 1 })
	if b := e2.srv.reg.list(aor); len(b) != 1 || b[0].registration().Contact != a.contact.String() {
		t.Fatalf("reloaded bindings %v", b)
	}
}
