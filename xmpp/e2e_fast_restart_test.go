package xmpp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// TestFASTRestart: tokens outlive a restart on the same store and FAST
// key; the store alone holds nothing a login could use; another key
// makes every token wrong; a password change made after the restart still
// expires tokens issued before it; deleting the account deletes its
// tokens.
func TestFASTRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, otherKey := make([]byte, fastKeyBytes), make([]byte, fastKeyBytes)
	_, _ = rand.Read(key)
	_, _ = rand.Read(otherKey)
	withKey := func(k []byte) func(*Config) { return func(c *Config) { c.FastKey = k } }
	const laptop = "0b8d2a4c-7f1e-4c3a-9d6b-2e5f8a1c3b7d"

	ts := startServerIn(t, dir, withKey(key), nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	tPhone := ts.requestToken(t, "alice", testUserAgent)
	tLaptop := ts.requestToken(t, "alice", laptop)
	tBob := ts.requestToken(t, "bob", testUserAgent)
	if _, e := ts.fastLogin(t, "alice", testUserAgent, tPhone, ""); e.XMLName.Local != "success" {
		t.Fatalf("before the restart: %+v", e) // tPhone is now the used ("current") token
	}
	ts.stop()

	dumpIsUseless(t, dir+"/db", key, tPhone, tLaptop, tBob)

	ts = startServerIn(t, dir, withKey(key), nil)
	if _, e := ts.fastLogin(t, "alice", testUserAgent, tPhone, ""); e.XMLName.Local != "success" {
		t.Fatalf("after the restart: %+v", e)
	}
	if err := ts.hub.SetPassword(ctx, alice, "new password", crosstalk.MinSCRAMIterations); err != nil {
		t.Fatal(err)
	}
	_, e := ts.fastLogin(t, "alice", laptop, tLaptop, "")
	failedWith(t, e, "credentials-expired")
	ts.stop()

	ts = startServerIn(t, dir, withKey(otherKey), nil)
	_, e = ts.fastLogin(t, "bob", testUserAgent, tBob, "")
	failedWith(t, e, "not-authorized") // the store without its key gives no token
	ts.stop()

	ts = startServerIn(t, dir, withKey(key), nil)
	if _, e := ts.fastLogin(t, "bob", testUserAgent, tBob, ""); e.XMLName.Local != "success" {
		t.Fatalf("with the key again: %+v", e)
	}
	if err := ts.hub.DeleteAccount(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if recs, err := ts.store.ClientLoginTokens(ctx, bob, testUserAgent); err != nil || len(recs) != 0 {
		t.Fatalf("tokens of a deleted account: %+v, %v", recs, err)
	}
}

// dumpIsUseless reads every column of every login_tokens row straight from
// the SQLite file and checks that none holds a token, its SHA-256 (what
// HMAC keys itself with for a token longer than a block), its MAC part or
// the FAST key, in raw, hex or base64 form: a dump of the database alone
// lets nobody compute an HT proof.
func dumpIsUseless(t *testing.T, path string, key []byte, tokens ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT * FROM login_tokens`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var values [][]byte
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				values = append(values, v)
			case string:
				values = append(values, []byte(v))
			default:
				values = append(values, []byte(fmt.Sprint(v)))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(values) != len(tokens)*len(cols) {
		t.Fatalf("%d values in %d columns, want a row for each of %d tokens", len(values), len(cols), len(tokens))
	}
	secrets := [][]byte{key}
	for _, tok := range tokens {
		raw, err := base64.StdEncoding.DecodeString(tok)
		if err != nil {
			t.Fatal(err)
		}
		hash := sha256.Sum256([]byte(tok))
		secrets = append(secrets, []byte(tok), raw[fastIDBytes:], hash[:])
	}
	for _, s := range secrets {
		for _, form := range [][]byte{s, []byte(hex.EncodeToString(s)), []byte(base64.StdEncoding.EncodeToString(s))} {
			for _, v := range values {
				if bytes.Contains(v, form) {
					t.Fatalf("a login_tokens column holds a secret: %q", v)
				}
			}
		}
	}
}
