package scram

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

func keysFor(t *testing.T, h func() hash.Hash, password, saltB64 string) crosstalk.SCRAMKeys {
	t.Helper()
	salt, _ := base64.StdEncoding.DecodeString(saltB64)
	k, err := crosstalk.DeriveSCRAMKeys(h, password, salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRFCVectors runs the exchanges of RFC 5802 §5 and RFC 7677 §3.
func TestRFCVectors(t *testing.T) {
	for i, tc := range []struct {
		hash                       Hash
		h                          func() hash.Hash
		salt, snonce, first, final string
		serverFirst, serverFinal   string
	}{
		{SHA1, sha1.New, "QSXCR+Q6sek8bf92", "3rfcNHYJY1ZVvWVs7j",
			"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="},
		{SHA256, sha256.New, "W22ZaJ0SNY7soEsUEjb6gQ==", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
			"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
	} {
		keys := keysFor(t, tc.h, "pencil", tc.salt)
		s := New(tc.hash, false, nil, func(u string) (crosstalk.SCRAMKeys, error) {
			if u != "user" {
				return crosstalk.SCRAMKeys{}, crosstalk.ErrNoSuchAccount
			}
			return keys, nil
		})
		s.SetNonce(func() string { return tc.snonce })
		got, err := s.Step([]byte(tc.first))
		if err != nil || string(got) != tc.serverFirst {
			t.Fatalf("%d: server-first %q, %v; want %q", i, got, err, tc.serverFirst)
		}
		got, err = s.Step([]byte(tc.final))
		if err != nil || string(got) != tc.serverFinal || !s.Done() || s.Username() != "user" {
			t.Fatalf("%d: server-final %q, %v; want %q", i, got, err, tc.serverFinal)
		}
	}
}

// client computes a client-final-message for a server-first-message.
func client(h func() hash.Hash, password, gs2 string, cbData []byte, clientFirstBare, serverFirst string) string {
	var salt []byte
	var iter int
	var nonce string
	for _, a := range strings.Split(serverFirst, ",") {
		switch {
		case strings.HasPrefix(a, "r="):
			nonce = a[2:]
		case strings.HasPrefix(a, "s="):
			salt, _ = base64.StdEncoding.DecodeString(a[2:])
		case strings.HasPrefix(a, "i="):
			fmt.Sscan(a[2:], &iter)
		}
	}
	k, _ := crosstalk.DeriveSCRAMKeys(h, password, salt, iter)
	without := "c=" + base64.StdEncoding.EncodeToString(append([]byte(gs2), cbData...)) + ",r=" + nonce
	auth := clientFirstBare + "," + serverFirst + "," + without
	m := hmac.New(h, k.StoredKey)
	m.Write([]byte(auth))
	sig := m.Sum(nil)
	// ClientKey = HMAC(SaltedPassword, "Client Key") is not stored; recover
	// it from the password instead.
	sp := saltedPassword(h, password, salt, iter)
	ck := hmac.New(h, sp)
	ck.Write([]byte("Client Key"))
	clientKey := ck.Sum(nil)
	proof := make([]byte, len(sig))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return without + ",p=" + base64.StdEncoding.EncodeToString(proof)
}

func saltedPassword(h func() hash.Hash, pw string, salt []byte, iter int) []byte {
	// Hi() of RFC 5802 §2.2.
	m := hmac.New(h, []byte(pw))
	m.Write(salt)
	m.Write([]byte{0, 0, 0, 1})
	u := m.Sum(nil)
	out := append([]byte(nil), u...)
	for i := 1; i < iter; i++ {
		m = hmac.New(h, []byte(pw))
		m.Write(u)
		u = m.Sum(nil)
		for j := range out {
			out[j] ^= u[j]
		}
	}
	return out
}

func TestChannelBinding(t *testing.T) {
	keys := keysFor(t, sha256.New, "secret", "W22ZaJ0SNY7soEsUEjb6gQ==")
	lookup := func(string) (crosstalk.SCRAMKeys, error) { return keys, nil }
	cb := ChannelBinding{TLSExporter: []byte("0123456789abcdef0123456789abcdef"), TLSServerEndPoint: []byte("hash")}
	for i, tc := range []struct {
		plus     bool
		gs2      string
		cbData   []byte
		password string
		wantErr  error
	}{
		{true, "p=tls-exporter,,", cb[TLSExporter], "secret", nil},
		{true, "p=tls-server-end-point,,", cb[TLSServerEndPoint], "secret", nil},
		{true, "p=tls-exporter,,", []byte("wrong"), "secret", ErrChannelBinding},
		{true, "p=tls-unique,,", nil, "secret", ErrChannelBinding},
		{true, "n,,", nil, "secret", ErrChannelBinding},
		{false, "y,,", nil, "secret", ErrChannelBinding},
		{false, "n,,", nil, "secret", nil},
		{false, "n,,", nil, "wrong", ErrAuthFailed},
		{false, "n,a=other,", nil, "secret", nil},
	} {
		s := New(SHA256, tc.plus, cb, lookup)
		bare := "n=user,r=abcdefgh"
		first, err := s.Step([]byte(tc.gs2 + bare))
		if err != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("%d: first: %v, want %v", i, err, tc.wantErr)
			}
			continue
		}
		_, err = s.Step([]byte(client(sha256.New, tc.password, tc.gs2, tc.cbData, bare, string(first))))
		if !errors.Is(err, tc.wantErr) || (err == nil) != s.Done() {
			t.Fatalf("%d: final: %v, want %v", i, err, tc.wantErr)
		}
	}
}

func TestUnknownUserFailsAtProof(t *testing.T) {
	s := New(SHA256, false, nil, func(string) (crosstalk.SCRAMKeys, error) {
		return crosstalk.SCRAMKeys{}, fmt.Errorf("lookup: %w", crosstalk.ErrNoSuchAccount)
	})
	first, err := s.Step([]byte("n,,n=ghost,r=abc"))
	if err != nil || !strings.Contains(string(first), ",i=4096") {
		t.Fatalf("server-first %q, %v", first, err)
	}
	if _, err := s.Step([]byte(client(sha256.New, "x", "n,,", nil, "n=ghost,r=abc", string(first)))); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("got %v, want ErrAuthFailed", err)
	}
}

func TestMalformed(t *testing.T) {
	for _, msg := range []string{"", "n", "n,,", "x,,n=a,r=b", "n,,r=b,n=a", "n,,n=a=zz,r=b", "n,,m=ext,n=a,r=b", "n,,n=a,r="} {
		s := New(SHA1, false, nil, func(string) (crosstalk.SCRAMKeys, error) { return crosstalk.SCRAMKeys{}, nil })
		if _, err := s.Step([]byte(msg)); err == nil {
			t.Errorf("%q accepted", msg)
		}
	}
	if n, err := decodeName("a=2Cb=3Dc"); err != nil || n != "a,b=c" {
		t.Fatalf("decodeName: %q %v", n, err)
	}
}
