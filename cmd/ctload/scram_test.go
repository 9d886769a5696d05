package main

import (
	"crypto/sha1" //nolint:gosec // SCRAM-SHA-1 is tested as a fallback
	"crypto/sha256"
	"errors"
	"hash"
	"testing"

	"mellium.im/sasl"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/scram"
)

// runSCRAM logs in with the cached client against Crosstalk's SCRAM server
// and returns the client's error, if any.
func runSCRAM(t *testing.T, c *saltedCache, h scram.Hash, fn func() hash.Hash, password string, keys crosstalk.SCRAMKeys) error {
	t.Helper()
	srv := scram.New(h, false, nil, func(string) (crosstalk.SCRAMKeys, error) { return keys, nil })
	cl := sasl.NewClient(c.scramClient(h.Mechanism(false), fn),
		sasl.Credentials(func() ([]byte, []byte, []byte) { return []byte("user,1"), []byte(password), nil }))
	_, msg, err := cl.Step(nil)
	if err != nil {
		t.Fatalf("client first: %v", err)
	}
	for range 3 {
		resp, err := srv.Step(msg)
		if err != nil {
			return err
		}
		more, out, err := cl.Step(resp)
		if err != nil {
			return err
		}
		if !more {
			if !srv.Done() || srv.Username() != "user,1" {
				t.Fatalf("server done %v, user %q", srv.Done(), srv.Username())
			}
			return nil
		}
		msg = out
	}
	return errors.New("too many steps")
}

func TestCachedSCRAM(t *testing.T) {
	for _, tc := range []struct {
		h  scram.Hash
		fn func() hash.Hash
	}{{scram.SHA256, sha256.New}, {scram.SHA1, sha1.New}} {
		keys, err := crosstalk.DeriveSCRAMKeys(tc.fn, "pencil", []byte("0123456789abcdef"), 4096)
		if err != nil {
			t.Fatal(err)
		}
		c := newSaltedCache()
		for i := range 2 { // the second login uses the cached SaltedPassword
			if err := runSCRAM(t, c, tc.h, tc.fn, "pencil", keys); err != nil {
				t.Fatalf("%s login %d: %v", tc.h.Mechanism(false), i, err)
			}
		}
		if len(c.m) != 1 {
			t.Fatalf("%s: cache holds %d values, want 1", tc.h.Mechanism(false), len(c.m))
		}
		if err := runSCRAM(t, c, tc.h, tc.fn, "wrong", keys); err == nil {
			t.Fatalf("%s: a wrong password was accepted", tc.h.Mechanism(false))
		}
	}
}
