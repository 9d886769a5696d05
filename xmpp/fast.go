package xmpp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

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

// fastIDBytes is the random id of a token, the store's key for it. A
// token is the base64 of that id and the id's MAC under the FAST key:
// 64 bytes, 88 characters.
const fastIDBytes = 32

// fastKeyBytes is the least size of the FAST key (Config.FastKey).
const fastKeyBytes = 32

// fastTokenLabel starts the MAC input of every token.
const fastTokenLabel = "crosstalk fast token"

// maxFastClientsPerAccount bounds the clients (user-agent ids) with tokens
// per account, two tokens each: past it, issuing a token drops the clients
// whose newest token is the oldest, so that an account holder cannot grow
// the store without limit.
const maxFastClientsPerAccount = 32

// fastSweep is how many expired tokens of any account issuing a token
// removes from the store (besides the account's own): the table is swept
// in bounded steps, never scanned whole on a login.
const fastSweep = 64

// fastClient names a client: an account and a user-agent id.
type fastClient struct {
	account crosstalk.Address
	agent   string
}

// fastTokens are the server's FAST tokens. The store is their only copy:
// it keeps a record of each (crosstalk.LoginToken: id, client, mechanism,
// times, credentials fingerprint), never the token nor its hash, and the
// token is derived from the record with the FAST key, which is never in
// the store. A restart on the same store and key keeps every token; a
// dump of the store alone logs nobody in.
type fastTokens struct {
	key   []byte
	store crosstalk.LoginTokens
	log   zerolog.Logger
}

func newFastTokens(key []byte, store crosstalk.LoginTokens, log zerolog.Logger) *fastTokens {
	return &fastTokens{key: key, store: store, log: log}
}

// token derives the token of a record: base64(id || HMAC-SHA-256(key,
// label || id || account || user-agent id || mechanism)), each field
// length-prefixed so that no two records share an input.
func (f *fastTokens) token(t crosstalk.LoginToken) string {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(fastTokenLabel))
	for _, field := range [...][]byte{t.ID, []byte(t.Owner.String()), []byte(t.Client), []byte(t.Mechanism)} {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(field))))
		m.Write(field)
	}
	return base64.StdEncoding.EncodeToString(m.Sum(t.ID[:len(t.ID):len(t.ID)]))
}

// credsPrint fingerprints an account's credentials.
func credsPrint(c crosstalk.Credentials) []byte {
	h := sha256.New()
	h.Write(c.SCRAMSHA256.Salt)
	h.Write(c.SCRAMSHA256.StoredKey)
	h.Write(c.SCRAMSHA1.Salt)
	h.Write(c.SCRAMSHA1.StoredKey)
	return h.Sum(nil)
}

// issue makes a new token for a client into its "next" slot (the unused
// one), replacing a token issued before and never used; it returns the
// token to send and its expiry. It also removes the account's expired
// tokens, keeps its maxFastClientsPerAccount newest clients, and sweeps at
// most fastSweep expired tokens of other accounts.
func (f *fastTokens) issue(ctx context.Context, c fastClient, mech string, creds crosstalk.Credentials, now time.Time, lifetime time.Duration) (string, time.Time, error) {
	t := crosstalk.LoginToken{ID: make([]byte, fastIDBytes), Owner: c.account, Client: c.agent, Mechanism: mech,
		Issued: now, Expiry: now.Add(lifetime).Truncate(time.Second), Credentials: credsPrint(creds)}
	_, _ = rand.Read(t.ID)
	if err := f.store.PutLoginToken(ctx, t, maxFastClientsPerAccount); err != nil {
		return "", time.Time{}, fmt.Errorf("fast: issue: %w", err)
	}
	if _, err := f.store.DeleteExpiredLoginTokens(ctx, now, fastSweep); err != nil {
		f.log.Warn().Err(err).Msg("expired FAST tokens not swept")
	}
	return f.token(t), t.Expiry, nil
}

// fastResult is the outcome of a token check.
type fastResult int

const (
	fastWrong   fastResult = iota // no token of the client matches: a failed guess
	fastExpired                   // a matching token the server no longer trusts
	fastOK
)

// verify checks a client's HT proof against its tokens, read from the
// store in one indexed read, "next" first (XEP-0484 §6.1); a match of
// "next" makes it the current token, which invalidates the one before.
// With invalidate, the token used is removed. It returns the matching
// token, the HMAC key of the server's answer, and its record.
func (f *fastTokens) verify(ctx context.Context, c fastClient, mech string, cb, proof []byte, creds crosstalk.Credentials, now time.Time, invalidate bool) (fastResult, string, crosstalk.LoginToken, error) {
	recs, err := f.store.ClientLoginTokens(ctx, c.account, c.agent)
	if err != nil {
		return fastWrong, "", crosstalk.LoginToken{}, fmt.Errorf("fast: verify: %w", err)
	}
	for _, t := range recs {
		token := f.token(t)
		if !hmac.Equal(htProof([]byte(token), "Initiator", cb), proof) {
			continue
		}
		switch {
		case t.Mechanism != mech || !now.Before(t.Expiry) || subtle.ConstantTimeCompare(t.Credentials, credsPrint(creds)) != 1:
			err = f.store.DeleteLoginToken(ctx, c.account, c.agent, t.ID)
			if errors.Is(err, crosstalk.ErrNotFound) {
				err = nil
			}
			return fastExpired, "", t, err
		case invalidate:
			err = f.store.DeleteLoginToken(ctx, c.account, c.agent, t.ID)
		case !t.Used:
			err = f.store.UseLoginToken(ctx, c.account, c.agent, t.ID)
		}
		if errors.Is(err, crosstalk.ErrNotFound) {
			// Replaced, used with invalidate or dropped since it was read:
			// a real token, no longer trusted.
			return fastExpired, "", t, nil
		}
		if err != nil {
			return fastWrong, "", t, fmt.Errorf("fast: verify: %w", err)
		}
		return fastOK, token, t, nil
	}
	return fastWrong, "", crosstalk.LoginToken{}, nil
}

// htProof is HMAC-SHA-256(key, label || cb), the HT initiator or responder
// message.
func htProof(key []byte, label string, cb []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write(cb)
	return m.Sum(nil)
}
