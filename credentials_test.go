package crosstalk

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"testing"
)

// TestSCRAMVectors checks DeriveSCRAMKeys against the exchanges published in
// RFC 5802 §5 (SHA-1) and RFC 7677 §3 (SHA-256): the stored keys must verify
// the client proof and produce the server signature of the RFC.
func TestSCRAMVectors(t *testing.T) {
	for i, tc := range [...]struct {
		name                                   string
		h                                      func() hash.Hash
		salt                                   string
		clientFirstBare, serverFirst, finalNoP string
		proof, serverSignature                 string
	}{
		0: {
			name: "RFC 5802 SCRAM-SHA-1", h: sha1.New, salt: "QSXCR+Q6sek8bf92",
			clientFirstBare: "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			serverFirst:     "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			finalNoP:        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
			proof:           "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", serverSignature: "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		},
		1: {
			name: "RFC 7677 SCRAM-SHA-256", h: sha256.New, salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
			clientFirstBare: "n=user,r=rOprNGfwEbeRWgbNEkqO",
			serverFirst:     "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			finalNoP:        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
			proof:           "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", serverSignature: "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		},
	} {
		salt, _ := base64.StdEncoding.DecodeString(tc.salt)
		keys, err := DeriveSCRAMKeys(tc.h, "pencil", salt, 4096)
		if err != nil {
			t.Fatalf("%d %s: %v", i, tc.name, err)
		}
		authMessage := []byte(tc.clientFirstBare + "," + tc.serverFirst + "," + tc.finalNoP)
		proof, _ := base64.StdEncoding.DecodeString(tc.proof)
		sig := hmac.New(tc.h, keys.StoredKey)
		sig.Write(authMessage)
		clientKey := sig.Sum(nil)
		for j := range clientKey {
			clientKey[j] ^= proof[j]
		}
		stored := tc.h()
		stored.Write(clientKey)
		if !bytes.Equal(stored.Sum(nil), keys.StoredKey) {
			t.Errorf("%d %s: the RFC's client proof does not verify against StoredKey", i, tc.name)
		}
		ss := hmac.New(tc.h, keys.ServerKey)
		ss.Write(authMessage)
		if got := base64.StdEncoding.EncodeToString(ss.Sum(nil)); got != tc.serverSignature {
			t.Errorf("%d %s: server signature %s, want %s", i, tc.name, got, tc.serverSignature)
		}
	}
}

// TestDigestHA1 checks HA1 against RFC 2617 §3.5 and, through the full
// response computation, the MD5 and SHA-256 examples of RFC 7616 §3.9.1.
func TestDigestHA1(t *testing.T) {
	if got := DigestHA1(md5.New, "Mufasa", "testrealm@host.com", "Circle Of Life"); got != "939e7578ed9e3c518a452acee763bce9" {
		t.Errorf("RFC 2617 HA1 = %s", got)
	}
	const (
		nonce  = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
		cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	)
	for i, tc := range [...]struct {
		h    func() hash.Hash
		want string
	}{
		0: {md5.New, "8ca523f5e9506fed4657c9700eebdbec"},
		1: {sha256.New, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		ha1 := DigestHA1(tc.h, "Mufasa", "http-auth@example.org", "Circle of Life")
		h := tc.h()
		h.Write([]byte("GET:/dir/index.html"))
		ha2 := fmt.Sprintf("%x", h.Sum(nil))
		r := tc.h()
		r.Write([]byte(ha1 + ":" + nonce + ":00000001:" + cnonce + ":auth:" + ha2))
		if got := fmt.Sprintf("%x", r.Sum(nil)); got != tc.want {
			t.Errorf("%d: RFC 7616 response %s, want %s", i, got, tc.want)
		}
	}
}

func TestNewCredentials(t *testing.T) {
	alice := MustParseAddress("alice@example.com")
	const password = "correct horse battery staple"
	c, err := NewCredentials(alice, password, MinSCRAMIterations)
	if err != nil {
		t.Fatal(err)
	}
	if !c.VerifyPassword(password) {
		t.Error("the right password does not verify")
	}
	for _, wrong := range []string{"", "Correct horse battery staple", password + " "} {
		if c.VerifyPassword(wrong) {
			t.Errorf("wrong password %q verifies", wrong)
		}
	}
	if c.Realm != "example.com" || c.HA1MD5 != DigestHA1(md5.New, "alice", "example.com", password) || c.HA1SHA256 != DigestHA1(sha256.New, "alice", "example.com", password) {
		t.Errorf("digest credentials %+v", c)
	}
	if !c.SCRAMSHA1.Valid() || !c.SCRAMSHA256.Valid() || bytes.Equal(c.SCRAMSHA1.Salt, c.SCRAMSHA256.Salt) {
		t.Errorf("scram keys invalid or sharing a salt: %+v", c)
	}
	// Nothing stored holds the password, in any encoding.
	dump := []byte(fmt.Sprintf("%+v %x %s", c, c.SCRAMSHA256.StoredKey, c.SCRAMSHA256.Salt))
	for _, enc := range []string{password, base64.StdEncoding.EncodeToString([]byte(password)), fmt.Sprintf("%x", password)} {
		if bytes.Contains(dump, []byte(enc)) {
			t.Errorf("credentials contain the password as %q", enc)
		}
	}
	again, _ := NewCredentials(alice, password, MinSCRAMIterations)
	if bytes.Equal(again.SCRAMSHA256.StoredKey, c.SCRAMSHA256.StoredKey) {
		t.Error("two derivations share a salt")
	}
}

func TestNewCredentialsRefuses(t *testing.T) {
	alice := MustParseAddress("alice@example.com")
	if _, err := NewCredentials(alice, "pw", MinSCRAMIterations-1); err == nil {
		t.Error("iterations below the minimum accepted")
	}
	if _, err := NewCredentials(alice, "", MinSCRAMIterations); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("empty password: %v", err)
	}
	if _, err := NewCredentials(alice, "tab\there", MinSCRAMIterations); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("control character: %v", err)
	}
	if _, err := NewCredentials(MustParseAddress("example.com"), "pw", MinSCRAMIterations); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("domain-only account: %v", err)
	}
}

func BenchmarkNewCredentials(b *testing.B) {
	alice := MustParseAddress("alice@example.com")
	for b.Loop() {
		if _, err := NewCredentials(alice, "pencil", MinSCRAMIterations); err != nil {
			b.Fatal(err)
		}
	}
}
