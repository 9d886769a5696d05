package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// writeEverything writes one item of every kind for owner through s.
func writeEverything(ctx context.Context, s crosstalk.Store, owner crosstalk.Address) error {
	if err := s.CreateAccount(ctx, crosstalk.Account{Address: owner, Credentials: credentials(4), Created: base}); err != nil {
		return err
	}
	if _, err := s.PutRosterItem(ctx, owner, crosstalk.RosterItem{Contact: addr("carol@example.org")}); err != nil {
		return err
	}
	if err := s.Block(ctx, owner, addr("spam@example.net")); err != nil {
		return err
	}
	if err := s.PushOffline(ctx, owner, fullMessage(1, "carol@example.org", owner.String(), base)); err != nil {
		return err
	}
	if _, err := s.AppendArchive(ctx, owner, crosstalk.ArchivedMessage{With: addr("carol@example.org"),
		Message: fullMessage(2, "carol@example.org", owner.String(), base)}); err != nil {
		return err
	}
	if err := s.PutRoom(ctx, crosstalk.Room{Address: addr(owner.Local() + "-room@conference.example.com"),
		Affiliations: map[crosstalk.Address]crosstalk.Affiliation{owner: crosstalk.AffiliationOwner}, Created: base}); err != nil {
		return err
	}
	if err := s.PutLoginToken(ctx, loginToken(owner, "phone", owner.Local()[0], 0), 8); err != nil {
		return err
	}
	return s.PutRegistration(ctx, crosstalk.Registration{AOR: owner, Contact: "sip:" + owner.Local() + "@192.0.2.1",
		Q: 1000, Expires: base.Add(time.Hour)})
}

// checkEverything checks that writeEverything's items for owner are all
// there, or all absent.
func checkEverything(t *testing.T, s crosstalk.Store, owner crosstalk.Address, present bool) {
	t.Helper()
	ctx := t.Context()
	_, err := s.GetAccount(ctx, owner)
	if present {
		must(t, err)
	} else {
		wantErr(t, "account", err, crosstalk.ErrNoSuchAccount)
	}
	n := 0
	if present {
		n = 1
	}
	r, err := s.GetRoster(ctx, owner)
	must(t, err)
	if len(r.Items) != n || (r.Version > 0) != present {
		t.Errorf("%v: roster %+v, want %d items", owner, r, n)
	}
	bl, err := s.Blocklist(ctx, owner)
	must(t, err)
	if len(bl) != n {
		t.Errorf("%v: blocklist %v", owner, bl)
	}
	c, err := s.CountOffline(ctx, owner)
	must(t, err)
	if c != n {
		t.Errorf("%v: %d offline", owner, c)
	}
	p, err := s.QueryArchive(ctx, owner, crosstalk.ArchiveQuery{})
	must(t, err)
	if len(p.Messages) != n {
		t.Errorf("%v: %d archived", owner, len(p.Messages))
	}
	_, err = s.GetRoom(ctx, addr(owner.Local()+"-room@conference.example.com"))
	if present {
		must(t, err)
	} else {
		wantErr(t, "room", err, crosstalk.ErrNotFound)
	}
	regs, err := s.ListRegistrations(ctx, owner, base)
	must(t, err)
	if len(regs) != n {
		t.Errorf("%v: %d registrations", owner, len(regs))
	}
	tokens, err := s.ClientLoginTokens(ctx, owner, "phone")
	must(t, err)
	if len(tokens) != n {
		t.Errorf("%v: %d login tokens", owner, len(tokens))
	}
}

func testTransactions(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")

	// Commit: everything is visible afterwards; inside, the transaction
	// reads its own writes.
	must(t, s.InTransaction(ctx, func(tx crosstalk.Store) error {
		if err := writeEverything(ctx, tx, alice); err != nil {
			return err
		}
		if _, err := tx.GetAccount(ctx, alice); err != nil {
			return err
		}
		// A sentinel error inside leaves the transaction usable.
		if err := tx.CreateAccount(ctx, crosstalk.Account{Address: alice}); !errors.Is(err, crosstalk.ErrAccountExists) {
			t.Errorf("duplicate inside a transaction: %v", err)
		}
		if _, err := tx.GetRosterItem(ctx, alice, addr("nobody@example.com")); !errors.Is(err, crosstalk.ErrNotFound) {
			t.Errorf("missing item inside a transaction: %v", err)
		}
		if _, err := tx.PutRosterItem(ctx, alice, crosstalk.RosterItem{Contact: addr("carol@example.org"), Name: "C"}); err != nil {
			return err
		}
		return tx.Ping(ctx)
	}))
	checkEverything(t, s, alice, true)
	it, err := s.GetRosterItem(ctx, alice, addr("carol@example.org"))
	must(t, err)
	if it.Name != "C" {
		t.Errorf("the write after a sentinel error was lost: %+v", it)
	}

	// Roll back on error: nothing is visible, and the error comes back.
	boom := errors.New("boom")
	err = s.InTransaction(ctx, func(tx crosstalk.Store) error {
		if err := writeEverything(ctx, tx, bob); err != nil {
			return err
		}
		// Changes to existing data roll back too.
		if err := tx.DeleteAccount(ctx, alice); err != nil {
			return err
		}
		if _, err := tx.ClaimOffline(ctx, alice, 0); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "InTransaction", err, boom)
	checkEverything(t, s, bob, false)
	checkEverything(t, s, alice, true)

	// Roll back on panic, and the panic goes on.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic in fn did not come through")
			}
		}()
		s.InTransaction(ctx, func(tx crosstalk.Store) error {
			if err := writeEverything(ctx, tx, bob); err != nil {
				return err
			}
			panic("fn panics")
		})
	}()
	checkEverything(t, s, bob, false)

	// The store is still fully usable.
	must(t, writeEverything(ctx, s, bob))
	checkEverything(t, s, bob, true)
}

func testNestedTransactions(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob, carol := addr("alice@example.com"), addr("bob@example.com"), addr("carol@example.com")
	inner := errors.New("inner")
	must(t, s.InTransaction(ctx, func(tx crosstalk.Store) error {
		if err := writeEverything(ctx, tx, alice); err != nil {
			return err
		}
		// A nested transaction that fails undoes only its own writes.
		err := tx.InTransaction(ctx, func(tx2 crosstalk.Store) error {
			if err := writeEverything(ctx, tx2, bob); err != nil {
				return err
			}
			return inner
		})
		if !errors.Is(err, inner) {
			t.Errorf("nested InTransaction: %v", err)
		}
		// One that succeeds is part of the outer transaction.
		return tx.InTransaction(ctx, func(tx2 crosstalk.Store) error {
			return writeEverything(ctx, tx2, carol)
		})
	}))
	checkEverything(t, s, alice, true)
	checkEverything(t, s, bob, false)
	checkEverything(t, s, carol, true)

	// An outer rollback undoes the committed inner one.
	must(t, s.DeleteAccount(ctx, carol))
	err := s.InTransaction(ctx, func(tx crosstalk.Store) error {
		if err := tx.InTransaction(ctx, func(tx2 crosstalk.Store) error {
			return tx2.CreateAccount(ctx, crosstalk.Account{Address: carol})
		}); err != nil {
			return err
		}
		return inner
	})
	wantErr(t, "outer", err, inner)
	_, err = s.GetAccount(ctx, carol)
	wantErr(t, "account made in a rolled-back nested transaction", err, crosstalk.ErrNoSuchAccount)
}

func testCancelledContext(t *testing.T, s crosstalk.Store) {
	alice := addr("alice@example.com")
	must(t, writeEverything(t.Context(), s, alice))
	ctx := cancelled(t)
	calls := map[string]func() error{
		"Ping":          func() error { return s.Ping(ctx) },
		"CreateAccount": func() error { return s.CreateAccount(ctx, crosstalk.Account{Address: addr("bob@example.com")}) },
		"GetAccount":    func() error { _, err := s.GetAccount(ctx, alice); return err },
		"ListAccounts":  func() error { _, err := s.ListAccounts(ctx, ""); return err },
		"DeleteAccount": func() error { return s.DeleteAccount(ctx, alice) },
		"GetRoster":     func() error { _, err := s.GetRoster(ctx, alice); return err },
		"PutRosterItem": func() error {
			_, err := s.PutRosterItem(ctx, alice, crosstalk.RosterItem{Contact: addr("x@example.com")})
			return err
		},
		"Block":        func() error { return s.Block(ctx, alice, addr("x@example.com")) },
		"IsBlocked":    func() error { _, err := s.IsBlocked(ctx, alice, addr("x@example.com")); return err },
		"PushOffline":  func() error { return s.PushOffline(ctx, alice, crosstalk.Message{Body: "x"}) },
		"ClaimOffline": func() error { _, err := s.ClaimOffline(ctx, alice, 0); return err },
		"AppendArchive": func() error {
			_, err := s.AppendArchive(ctx, alice, crosstalk.ArchivedMessage{Message: crosstalk.Message{Body: "x"}})
			return err
		},
		"AppendArchiveBatch": func() error {
			return s.AppendArchiveBatch(ctx, []crosstalk.ArchiveEntry{{Owner: alice, ArchivedMessage: crosstalk.ArchivedMessage{Message: crosstalk.Message{Body: "x"}}}})
		},
		"QueryArchive":      func() error { _, err := s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{}); return err },
		"PutRoom":           func() error { return s.PutRoom(ctx, crosstalk.Room{Address: addr("r@conference.example.com")}) },
		"ListRooms":         func() error { _, err := s.ListRooms(ctx, "conference.example.com"); return err },
		"PutRegistration":   func() error { return s.PutRegistration(ctx, crosstalk.Registration{AOR: alice, Contact: "sip:x"}) },
		"ListRegistrations": func() error { _, err := s.ListRegistrations(ctx, alice, base); return err },
		"InTransaction": func() error {
			return s.InTransaction(ctx, func(tx crosstalk.Store) error { return nil })
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
		}
	}
	// Nothing was written or removed.
	checkEverything(t, s, alice, true)
	_, err := s.GetAccount(t.Context(), addr("bob@example.com"))
	wantErr(t, "account created with a cancelled context", err, crosstalk.ErrNoSuchAccount)

	// A context cancelled while a transaction runs rolls it back.
	ctx, cancel := context.WithCancel(t.Context())
	err = s.InTransaction(ctx, func(tx crosstalk.Store) error {
		if err := writeEverything(ctx, tx, addr("bob@example.com")); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err == nil {
		t.Error("InTransaction committed after its context was cancelled")
	}
	checkEverything(t, s, addr("bob@example.com"), false)
}
