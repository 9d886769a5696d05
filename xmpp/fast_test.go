package xmpp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// testFastTokens returns FAST tokens over a fresh SQLite store.
func testFastTokens(t *testing.T, key []byte) (*fastTokens, crosstalk.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return newFastTokens(key, st, zerolog.Nop()), st
}

// TestFastTokenDerived checks what the server keeps instead of a token: a
// record from which the token is derived with the FAST key. The token is
// the record's id and its MAC; the record and another key give another
// token; a proof made with the token verifies, for its mechanism only.
// (It replaces TestFastKeyIsTokenHash: the server no longer keeps a hash
// of each token, see fast.go.)
func TestFastTokenDerived(t *testing.T) {
	ctx := t.Context()
	key := bytes.Repeat([]byte{7}, fastKeyBytes)
	f, st := testFastTokens(t, key)
	now := time.Now()
	c := fastClient{crosstalk.MustParseAddress("alice@example.test"), testUserAgent}
	token, _, err := f.issue(ctx, c, htNone, crosstalk.Credentials{}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.ClientLoginTokens(ctx, c.account, c.agent)
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %+v, %v", recs, err)
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(token) != 88 || len(raw) != fastIDBytes+sha256.Size || !bytes.Equal(raw[:fastIDBytes], recs[0].ID) {
		t.Fatalf("token %q (%v) is not base64(id || MAC) of record id %x", token, err, recs[0].ID)
	}
	if f.token(recs[0]) != token {
		t.Fatal("the token is not recomputed from its record")
	}
	if other := newFastTokens(bytes.Repeat([]byte{8}, fastKeyBytes), st, zerolog.Nop()); other.token(recs[0]) == token {
		t.Fatal("another key derives the same token")
	}
	moved := recs[0]
	moved.Owner = crosstalk.MustParseAddress("bob@example.test")
	if f.token(moved) == token {
		t.Fatal("the token does not depend on its account")
	}

	proof := htMAC(token, "Initiator")
	if res, _, _, err := f.verify(ctx, c, htExporter, nil, proof, crosstalk.Credentials{}, now, false); res != fastExpired || err != nil {
		t.Fatalf("another mechanism: %v %v", res, err) // tokens are bound to their mechanism (XEP-0484 §4.4)
	}
	token, _, err = f.issue(ctx, c, htNone, crosstalk.Credentials{}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	res, got, rec, err := f.verify(ctx, c, htNone, nil, htMAC(token, "Initiator"), crosstalk.Credentials{}, now, false)
	if res != fastOK || err != nil || got != token || rec.Used {
		t.Fatalf("verify: %v %v %+v", res, err, rec)
	}
	if !hmac.Equal(htProof([]byte(got), "Responder", nil), htMAC(token, "Responder")) {
		t.Fatal("responder message")
	}
	if recs, _ := st.ClientLoginTokens(ctx, c.account, c.agent); len(recs) != 1 || !recs[0].Used {
		t.Fatalf("after use: %+v", recs)
	}
}

// TestFastTokensPerAccount: an account keeps the tokens of its
// maxFastClientsPerAccount newest clients; issuing sweeps other accounts'
// expired tokens. (It replaces TestFastTokensBounded and
// BenchmarkFastIssueFull: the in-memory table of 100,000 clients and its
// expiry heap are gone, the store bounds tokens per account.)
func TestFastTokensPerAccount(t *testing.T) {
	ctx := t.Context()
	f, st := testFastTokens(t, bytes.Repeat([]byte{7}, fastKeyBytes))
	now := time.Now()
	alice, bob := crosstalk.MustParseAddress("alice@example.test"), crosstalk.MustParseAddress("bob@example.test")
	if _, _, err := f.issue(ctx, fastClient{bob, "old"}, htNone, crosstalk.Credentials{}, now, time.Second); err != nil {
		t.Fatal(err)
	}
	const extra = 5
	for i := range maxFastClientsPerAccount + extra {
		at := now.Add(time.Duration(i) * time.Second)
		if _, _, err := f.issue(ctx, fastClient{alice, "agent" + strconv.Itoa(i)}, htNone, crosstalk.Credentials{}, at, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for i := range maxFastClientsPerAccount + extra {
		recs, err := st.ClientLoginTokens(ctx, alice, "agent"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if want := i >= extra; (len(recs) == 1) != want {
			t.Fatalf("agent%d: %d tokens, kept %v", i, len(recs), want)
		}
	}
	if recs, _ := st.ClientLoginTokens(ctx, bob, "old"); len(recs) != 0 {
		t.Fatalf("bob's expired token was not swept: %+v", recs)
	}
}

// BenchmarkFastVerify is the token check of a FAST login in the steady
// state (the client's token already used, so no write): one indexed read
// of the client's records from SQLite, the token derived from each, the
// HT proof compared.
//
//	go test -run XXX -bench BenchmarkFastVerify -benchtime 20000x ./xmpp/
func BenchmarkFastVerify(b *testing.B) {
	st, err := sqlite.Open(b.Context(), b.TempDir()+"/db", zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	f := newFastTokens(bytes.Repeat([]byte{7}, fastKeyBytes), st, zerolog.Nop())
	now := time.Now()
	c := fastClient{crosstalk.MustParseAddress("alice@example.test"), testUserAgent}
	token, _, err := f.issue(b.Context(), c, htNone, crosstalk.Credentials{}, now, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	proof := htMAC(token, "Initiator")
	if res, _, _, err := f.verify(b.Context(), c, htNone, nil, proof, crosstalk.Credentials{}, now, false); res != fastOK || err != nil {
		b.Fatal(res, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if res, _, _, err := f.verify(b.Context(), c, htNone, nil, proof, crosstalk.Credentials{}, now, false); res != fastOK || err != nil {
			b.Fatal(res, err)
		}
	}
}
