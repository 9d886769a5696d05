package xmpp

import (
	"container/heap"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/scram"
)

// XEP-0484 Fast Authentication Streamlining Tokens (FAST), version 0.2.0,
// with the HT-SHA-256 mechanisms of draft-schmaus-kitten-sasl-ht: after a
// password login, a client (one <user-agent/> id) may get a token and log
// in with it in one round trip: authcid NUL HMAC-SHA-256(token,
// "Initiator" || channel-binding data), answered with HMAC-SHA-256(token,
// "Responder" || channel-binding data).
const nsFAST = "urn:xmpp:fast:0"

// The FAST mechanisms: without channel binding, and bound to
// tls-exporter and tls-server-end-point (offered when the connection
// offers that binding).
const (
	htNone     = "HT-SHA-256-NONE"
	htExporter = "HT-SHA-256-EXPR"
	htEndPoint = "HT-SHA-256-ENDP"
)

// htBinding returns the channel-binding type of an HT mechanism ("" for
// none) and whether the mechanism is one.
func htBinding(mech string) (string, bool) {
	switch mech {
	case htNone:
		return "", true
	case htExporter:
		return scram.TLSExporter, true
	case htEndPoint:
		return scram.TLSServerEndPoint, true
	}
	return "", false
}

// fastTokenBytes is the random part of a token. Its base64 form (88
// bytes) is longer than SHA-256's block, so HMAC keys it with its SHA-256
// (RFC 2104 §2): the server keeps only that hash, never the token.
const fastTokenBytes = 66

// maxFastClients bounds the clients (account and user-agent id) with
// tokens; past it the tokens nearest their expiry are dropped first.
const maxFastClients = 100_000

// fastToken is one issued token as the server keeps it.
type fastToken struct {
	// key is SHA-256 of the token: the HMAC key it amounts to. It verifies
	// a token but is as secret as the token for HT (see fastTokenBytes),
	// which is why tokens are kept in memory only.
	key    [sha256.Size]byte
	mech   string
	expiry time.Time
	issued time.Time
	// creds fingerprints the account's credentials when the token was
	// issued: a password change invalidates it.
	creds [sha256.Size]byte
}

// fastSlots are a client's two token slots (XEP-0484 §6.1): the token in
// use and the one issued last, not yet used.
type fastSlots struct {
	current, next *fastToken
	// client names the slots' owner, and at is when the later of the two
	// tokens expires (expiry), both for the expiry heap; index is the
	// slots' place in it.
	client fastClient
	at     time.Time
	index  int
}

// fastClient names a client: an account and a user-agent id.
type fastClient struct {
	account crosstalk.Address
	agent   string
}

// fastTokens are the server's FAST tokens, in memory only: a restart
// invalidates them and clients log in with their password again (XEP-0484
// §5.1: on failure a client falls back to another mechanism).
type fastTokens struct {
	mu      sync.Mutex
	clients map[fastClient]*fastSlots
	// byExpiry orders the clients by when their last token expires, so
	// that eviction takes O(log n), not a sweep of the map on every new
	// client once it is full (which any account holder could force).
	byExpiry expiryHeap
}

// expiryHeap is a container/heap of clients' slots, soonest expiry first.
type expiryHeap []*fastSlots

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

// Push and Pop are for container/heap only.
func (h *expiryHeap) Push(x any) {
	s := x.(*fastSlots)
	s.index = len(*h)
	*h = append(*h, s)
}

func (h *expiryHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}

func newFastTokens() *fastTokens {
	return &fastTokens{clients: make(map[fastClient]*fastSlots)}
}

// credsPrint fingerprints an account's credentials.
func credsPrint(c crosstalk.Credentials) [sha256.Size]byte {
	h := sha256.New()
	h.Write(c.SCRAMSHA256.Salt)
	h.Write(c.SCRAMSHA256.StoredKey)
	h.Write(c.SCRAMSHA1.Salt)
	h.Write(c.SCRAMSHA1.StoredKey)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// issue makes a new token for a client into its "next" slot, replacing a
// token issued before and never used; it returns the token to send.
func (f *fastTokens) issue(c fastClient, mech string, creds crosstalk.Credentials, now time.Time, lifetime time.Duration) (string, time.Time) {
	var raw [fastTokenBytes]byte
	_, _ = rand.Read(raw[:])
	token := base64.StdEncoding.EncodeToString(raw[:])
	t := &fastToken{key: sha256.Sum256([]byte(token)), mech: mech, issued: now, expiry: now.Add(lifetime).Truncate(time.Second), creds: credsPrint(creds)}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.clients[c]
	if s == nil {
		if len(f.clients) >= maxFastClients {
			f.evictLocked(now)
		}
		s = &fastSlots{client: c, next: t, at: t.expiry}
		f.clients[c] = s
		heap.Push(&f.byExpiry, s)
	} else {
		s.next = t
		f.updateLocked(s)
	}
	return token, t.expiry
}

// evictLocked drops the clients whose tokens have all expired, and if none
// had, the client whose newest token expires first. Holds f.mu.
func (f *fastTokens) evictLocked(now time.Time) {
	dropped := false
	for len(f.byExpiry) > 0 && !f.byExpiry[0].at.After(now) {
		delete(f.clients, heap.Pop(&f.byExpiry).(*fastSlots).client)
		dropped = true
	}
	if !dropped && len(f.byExpiry) > 0 {
		delete(f.clients, heap.Pop(&f.byExpiry).(*fastSlots).client)
	}
}

// updateLocked keeps a client's place in the expiry heap after its slots
// changed, and forgets a client with no token left. Holds f.mu.
func (f *fastTokens) updateLocked(s *fastSlots) {
	if s.current == nil && s.next == nil {
		heap.Remove(&f.byExpiry, s.index)
		delete(f.clients, s.client)
		return
	}
	s.at = s.expiry()
	heap.Fix(&f.byExpiry, s.index)
}

// expiry is when the later of a client's tokens expires.
func (s *fastSlots) expiry() time.Time {
	var t time.Time
	for _, x := range [...]*fastToken{s.current, s.next} {
		if x != nil && x.expiry.After(t) {
			t = x.expiry
		}
	}
	return t
}

// fastResult is the outcome of a token check.
type fastResult int

const (
	fastWrong   fastResult = iota // no token of the client matches: a failed guess
	fastExpired                   // a matching token the server no longer trusts
	fastOK
)

// verify checks a client's HT proof against its tokens, "next" first
// (XEP-0484 §6.1); a match of "next" makes it the current token, which
// invalidates the one before. With invalidate, the token used is removed.
// It returns the matching token's key for the server's answer.
func (f *fastTokens) verify(c fastClient, mech string, cb, proof []byte, creds crosstalk.Credentials, now time.Time, invalidate bool) (fastResult, *fastToken) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.clients[c]
	if s == nil {
		return fastWrong, nil
	}
	for _, slot := range [...]**fastToken{&s.next, &s.current} {
		t := *slot
		if t == nil || !hmac.Equal(htProof(t.key[:], "Initiator", cb), proof) {
			continue
		}
		if t.mech != mech || !now.Before(t.expiry) || subtle.ConstantTimeCompare(t.creds[:], fingerprint(creds)) != 1 {
			*slot = nil
			f.updateLocked(s)
			return fastExpired, nil
		}
		switch {
		case invalidate:
			*slot = nil
		case slot == &s.next:
			s.current, s.next = t, nil
		}
		f.updateLocked(s)
		return fastOK, t
	}
	return fastWrong, nil
}

func fingerprint(c crosstalk.Credentials) []byte {
	p := credsPrint(c)
	return p[:]
}

// htProof is HMAC-SHA-256(key, label || cb), the HT initiator or responder
// message.
func htProof(key []byte, label string, cb []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write(cb)
	return m.Sum(nil)
}
