package xmpp

import (
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// TestFastKeyIsTokenHash checks what the server keeps instead of a token:
// HMAC keyed with SHA-256 of a token longer than the hash's block is
// HMAC keyed with the token (RFC 2104 §2), so the token itself is never
// kept.
func TestFastKeyIsTokenHash(t *testing.T) {
	f := newFastTokens()
	now := time.Now()
	c := fastClient{crosstalk.MustParseAddress("alice@example.test"), testUserAgent}
	token, _ := f.issue(c, htNone, crosstalk.Credentials{}, now, time.Hour)
	if len(token) <= sha256.BlockSize {
		t.Fatalf("token of %d bytes: HMAC would not hash it", len(token))
	}
	key := f.clients[c].next.key
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("Initiator"))
	if !hmac.Equal(m.Sum(nil), htProof(key[:], "Initiator", nil)) {
		t.Fatal("the kept hash does not verify the token")
	}
	if res, _ := f.verify(c, htNone, nil, m.Sum(nil), crosstalk.Credentials{}, now, false); res != fastOK {
		t.Fatalf("verify: %v", res)
	}
	if res, _ := f.verify(c, htExporter, nil, m.Sum(nil), crosstalk.Credentials{}, now, false); res != fastExpired {
		t.Fatalf("another mechanism: %v", res) // tokens are bound to their mechanism (XEP-0484 §4.4)
	}
}

// TestFastTokensBounded: past maxFastClients the expired clients go
// first, else the one whose token expires first.
func TestFastTokensBounded(t *testing.T) {
	f := newFastTokens()
	now := time.Now()
	for i := range maxFastClients {
		c := fastClient{crosstalk.MustParseAddress("u" + strconv.Itoa(i) + "@example.test"), testUserAgent}
		f.issue(c, htNone, crosstalk.Credentials{}, now, time.Hour+time.Duration(i)*time.Second)
	}
	f.issue(fastClient{crosstalk.MustParseAddress("new@example.test"), testUserAgent}, htNone, crosstalk.Credentials{}, now, time.Hour)
	if len(f.clients) != maxFastClients {
		t.Fatalf("%d clients", len(f.clients))
	}
	if f.clients[fastClient{crosstalk.MustParseAddress("u0@example.test"), testUserAgent}] != nil {
		t.Fatal("the client expiring first was kept")
	}
	later := now.Add(2 * time.Hour)
	f.issue(fastClient{crosstalk.MustParseAddress("newer@example.test"), testUserAgent}, htNone, crosstalk.Credentials{}, later, time.Hour)
	for c, s := range f.clients {
		if !s.expiry().After(later) {
			t.Fatalf("expired client %v kept", c)
		}
	}
	if want := maxFastClients - 3601 + 1; len(f.clients) != want { // u1…u3600 and new expired
		t.Fatalf("%d clients, want %d", len(f.clients), want)
	}
}

// BenchmarkFastIssueFull issues tokens to new clients with the table full
// and none expired: each issue evicts one client.
func BenchmarkFastIssueFull(b *testing.B) {
	f := newFastTokens()
	now := time.Now()
	for i := range maxFastClients {
		f.issue(fastClient{crosstalk.MustParseAddress("u" + strconv.Itoa(i) + "@example.test"), testUserAgent}, htNone, crosstalk.Credentials{}, now, time.Hour)
	}
	for i := 0; b.Loop(); i++ {
		f.issue(fastClient{crosstalk.MustParseAddress("n" + strconv.Itoa(i) + "@example.test"), testUserAgent}, htNone, crosstalk.Credentials{}, now, time.Hour)
	}
}
