package storetest

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// loginToken is a token of owner's client with a 32-byte id made of n,
// issued at base+issued and valid for an hour.
func loginToken(owner crosstalk.Address, client string, n byte, issued time.Duration) crosstalk.LoginToken {
	return crosstalk.LoginToken{ID: bytes.Repeat([]byte{n}, 32), Owner: owner, Client: client, Mechanism: "HT-SHA-256-EXPR",
		Issued: base.Add(issued), Expiry: base.Add(issued + time.Hour), Credentials: bytes.Repeat([]byte{0xc0}, 32)}
}

// stored is t as the store gives it back.
func stored(t crosstalk.LoginToken, used bool) crosstalk.LoginToken {
	t.Used, t.Issued, t.Expiry = used, us(t.Issued), us(t.Expiry)
	return t
}

func testLoginTokens(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")
	const phone, desk = "phone", "desk"
	tokens := func(owner crosstalk.Address, client string) []crosstalk.LoginToken {
		t.Helper()
		l, err := s.ClientLoginTokens(ctx, owner, client)
		must(t, err)
		return l
	}

	equal(t, "no tokens", len(tokens(alice, phone)), 0)
	t1 := loginToken(alice, phone, 1, 0)
	must(t, s.PutLoginToken(ctx, t1, 8))
	equal(t, "first token", tokens(alice, phone), []crosstalk.LoginToken{stored(t1, false)})
	equal(t, "another client's", len(tokens(alice, desk)), 0)
	equal(t, "another owner's", len(tokens(bob, phone)), 0)

	// A new token replaces the unused one.
	t2 := loginToken(alice, phone, 2, time.Second)
	t2.Mechanism = "HT-SHA-256-NONE"
	must(t, s.PutLoginToken(ctx, t2, 8))
	equal(t, "replaced", tokens(alice, phone), []crosstalk.LoginToken{stored(t2, false)})
	wantErr(t, "use the replaced token", s.UseLoginToken(ctx, alice, phone, t1.ID), crosstalk.ErrNotFound)
	wantErr(t, "use as another client", s.UseLoginToken(ctx, alice, desk, t2.ID), crosstalk.ErrNotFound)
	wantErr(t, "use as another owner", s.UseLoginToken(ctx, bob, phone, t2.ID), crosstalk.ErrNotFound)

	// Used, it stays beside the next one issued; using that one drops it.
	must(t, s.UseLoginToken(ctx, alice, phone, t2.ID))
	equal(t, "used", tokens(alice, phone), []crosstalk.LoginToken{stored(t2, true)})
	must(t, s.UseLoginToken(ctx, alice, phone, t2.ID)) // using it again changes nothing
	equal(t, "used twice", tokens(alice, phone), []crosstalk.LoginToken{stored(t2, true)})
	t3 := loginToken(alice, phone, 3, 2*time.Second)
	must(t, s.PutLoginToken(ctx, t3, 8))
	equal(t, "two slots, unused first", tokens(alice, phone), []crosstalk.LoginToken{stored(t3, false), stored(t2, true)})
	must(t, s.UseLoginToken(ctx, alice, phone, t3.ID))
	equal(t, "the next one used", tokens(alice, phone), []crosstalk.LoginToken{stored(t3, true)})

	wantErr(t, "delete as another client", s.DeleteLoginToken(ctx, alice, desk, t3.ID), crosstalk.ErrNotFound)
	must(t, s.DeleteLoginToken(ctx, alice, phone, t3.ID))
	wantErr(t, "delete twice", s.DeleteLoginToken(ctx, alice, phone, t3.ID), crosstalk.ErrNotFound)
	equal(t, "deleted", len(tokens(alice, phone)), 0)

	// A token issued after others expired removes the owner's expired
	// tokens, not another owner's.
	old := loginToken(alice, desk, 4, 0)
	must(t, s.PutLoginToken(ctx, old, 8))
	must(t, s.UseLoginToken(ctx, alice, desk, old.ID))
	bobs := loginToken(bob, desk, 5, 0)
	must(t, s.PutLoginToken(ctx, bobs, 8))
	later := loginToken(alice, phone, 6, time.Hour) // issued when old expires
	must(t, s.PutLoginToken(ctx, later, 8))
	equal(t, "expired token removed", len(tokens(alice, desk)), 0)
	equal(t, "new token kept", tokens(alice, phone), []crosstalk.LoginToken{stored(later, false)})
	equal(t, "other owner's expired token kept", tokens(bob, desk), []crosstalk.LoginToken{stored(bobs, false)})
}

// testLoginTokensBounded: an owner keeps the tokens of its maxClients most
// recently issued clients, two tokens each at most.
func testLoginTokensBounded(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")
	must(t, s.PutLoginToken(ctx, loginToken(bob, "c0", 100, 0), 3))
	for i := range 6 {
		c := "c" + strconv.Itoa(i)
		first := loginToken(alice, c, byte(2*i), time.Duration(2*i)*time.Second)
		must(t, s.PutLoginToken(ctx, first, 3))
		must(t, s.UseLoginToken(ctx, alice, c, first.ID))
		must(t, s.PutLoginToken(ctx, loginToken(alice, c, byte(2*i+1), time.Duration(2*i+1)*time.Second), 3))
	}
	// c3, c4 and c5 are left. c3, the oldest, issues again: it becomes the
	// most recent, so a new client c6 drops c4.
	must(t, s.PutLoginToken(ctx, loginToken(alice, "c3", 50, time.Minute), 3))
	must(t, s.PutLoginToken(ctx, loginToken(alice, "c6", 51, time.Minute+time.Second), 3))
	for i, want := range []int{0, 0, 0, 2, 0, 2, 1} {
		l, err := s.ClientLoginTokens(ctx, alice, "c"+strconv.Itoa(i))
		must(t, err)
		if len(l) != want {
			t.Errorf("c%d: %d tokens, want %d", i, len(l), want)
		}
	}
	l, err := s.ClientLoginTokens(ctx, bob, "c0")
	must(t, err)
	equal(t, "another owner's client", len(l), 1)
	// ≤ 0 keeps one client.
	must(t, s.PutLoginToken(ctx, loginToken(alice, "c9", 60, 2*time.Minute), 0))
	for _, c := range []string{"c3", "c5", "c6"} {
		l, err := s.ClientLoginTokens(ctx, alice, c)
		must(t, err)
		equal(t, c+" after a bound of 0", len(l), 0)
	}
}

// testLoginTokensExpiry: the sweep removes expired tokens, soonest first,
// at most limit of them.
func testLoginTokensExpiry(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	var ids [][]byte
	for i := range 5 {
		owner := addr("u" + strconv.Itoa(i) + "@example.com")
		tok := loginToken(owner, "c", byte(i), time.Duration(i)*time.Minute)
		ids = append(ids, tok.ID)
		must(t, s.PutLoginToken(ctx, tok, 4))
	}
	now := base.Add(time.Hour + 3*time.Minute) // u0…u3 expired (expiry ≤ now)
	n, err := s.DeleteExpiredLoginTokens(ctx, now, 2)
	must(t, err)
	equal(t, "first sweep", n, 2)
	for i, want := range []int{0, 0, 1, 1, 1} {
		l, err := s.ClientLoginTokens(ctx, addr("u"+strconv.Itoa(i)+"@example.com"), "c")
		must(t, err)
		if len(l) != want {
			t.Fatalf("u%d: %d tokens after the first sweep, want %d", i, len(l), want)
		}
	}
	n, err = s.DeleteExpiredLoginTokens(ctx, now, 0)
	must(t, err)
	equal(t, "second sweep", n, 2)
	l, err := s.ClientLoginTokens(ctx, addr("u4@example.com"), "c")
	must(t, err)
	if len(l) != 1 || !bytes.Equal(l[0].ID, ids[4]) {
		t.Fatalf("the valid token: %+v", l)
	}
	n, err = s.DeleteExpiredLoginTokens(ctx, now, 0)
	must(t, err)
	equal(t, "nothing left to sweep", n, 0)
}
