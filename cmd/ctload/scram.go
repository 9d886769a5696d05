package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1" //nolint:gosec // SCRAM-SHA-1 is a fallback the servers under test may offer
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"sync"

	"mellium.im/sasl"
)

// saltedCache keeps SCRAM SaltedPassword values (RFC 5802 §3) per
// mechanism, password, salt and iteration count, as a real client does
// (Conversations stores it per account): PBKDF2 with 4096 or more
// iterations then runs once per account, not once per login, so the load
// generator's own CPU does not bound the login rate of whichever server it
// measures. The server's work is unchanged: it checks a proof either way.
type saltedCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

// maxSaltedEntries bounds the cache; past it, new values are not kept.
const maxSaltedEntries = 1 << 20

func newSaltedCache() *saltedCache { return &saltedCache{m: make(map[string][]byte)} }

// salted returns PBKDF2(password, salt, iter), computing it at most once
// per distinct input while the cache has room.
func (c *saltedCache) salted(name string, fn func() hash.Hash, password, salt []byte, iter int) ([]byte, error) {
	key := name + "\x00" + strconv.Itoa(iter) + "\x00" + string(salt) + "\x00" + string(password)
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := pbkdf2.Key(fn, string(password), salt, iter, fn().Size())
	if err != nil {
		return nil, fmt.Errorf("pbkdf2: %w", err)
	}
	c.mu.Lock()
	if len(c.m) < maxSaltedEntries {
		c.m[key] = v
	}
	c.mu.Unlock()
	return v, nil
}

// scramFirstSent and scramFinalSent are the states between SCRAM steps:
// the client-first-message-bare, then the server signature to expect.
type (
	scramFirstSent struct{ bare []byte }
	scramFinalSent struct{ serverSig []byte }
)

// scramClient is a client-side SCRAM mechanism without channel binding
// (gs2 header "n,,", no authorization identity) whose SaltedPassword comes
// from c. mellium's own SCRAM mechanisms run PBKDF2 at every login.
func (c *saltedCache) scramClient(name string, fn func() hash.Hash) sasl.Mechanism {
	return sasl.Mechanism{
		Name: name,
		Start: func(m *sasl.Negotiator) (bool, []byte, any, error) {
			user, _, _ := m.Credentials()
			bare := append(append(append([]byte("n="), escapeSaslname(user)...), ",r="...), m.Nonce()...)
			return true, append([]byte("n,,"), bare...), scramFirstSent{bare}, nil
		},
		Next: func(m *sasl.Negotiator, challenge []byte, data any) (bool, []byte, any, error) {
			switch st := data.(type) {
			case scramFirstSent:
				return c.clientFinal(name, fn, m, challenge, st.bare)
			case scramFinalSent:
				want := "v=" + base64.StdEncoding.EncodeToString(st.serverSig)
				if subtle.ConstantTimeCompare([]byte(want), challenge) != 1 {
					return false, nil, nil, sasl.ErrAuthn
				}
				return false, nil, nil, nil
			default:
				return false, nil, nil, sasl.ErrInvalidState
			}
		},
	}
}

// clientFinal answers the server-first message (RFC 5802 §3): the proof
// and, as the next state, the server signature to expect.
func (c *saltedCache) clientFinal(name string, fn func() hash.Hash, m *sasl.Negotiator, challenge, bare []byte) (bool, []byte, any, error) {
	_, password, _ := m.Credentials()
	final, serverSig, err := c.scramFinal(name, fn, password, m.Nonce(), bare, challenge)
	if err != nil {
		return false, nil, nil, err
	}
	return true, final, scramFinalSent{serverSig}, nil
}

// scramFinal computes the client-final-message for a server-first-message
// (challenge), given the client nonce and client-first-message-bare, and
// the server signature the server-final-message must carry.
func (c *saltedCache) scramFinal(name string, fn func() hash.Hash, password, clientNonce, bare, challenge []byte) (final, serverSig []byte, err error) {
	iter := -1
	var salt, nonce []byte
	for _, f := range bytes.Split(challenge, []byte{','}) {
		if len(f) < 2 || f[1] != '=' {
			continue
		}
		switch f[0] {
		case 'r':
			nonce = f[2:]
		case 's':
			s, err := base64.StdEncoding.DecodeString(string(f[2:]))
			if err != nil {
				return nil, nil, fmt.Errorf("scram salt: %w", err)
			}
			salt = s
		case 'i':
			n, err := strconv.Atoi(string(f[2:]))
			if err != nil {
				return nil, nil, fmt.Errorf("scram iteration count: %w", err)
			}
			iter = n
		case 'm':
			return nil, nil, errors.New("scram: server sent the reserved attribute m")
		}
	}
	switch {
	case iter < 1:
		return nil, nil, errors.New("scram: invalid iteration count")
	case len(salt) == 0:
		return nil, nil, errors.New("scram: empty salt")
	case !bytes.HasPrefix(nonce, clientNonce) || len(nonce) == len(clientNonce):
		return nil, nil, errors.New("scram: server nonce does not extend the client nonce")
	}
	salted, err := c.salted(name, fn, password, salt, iter)
	if err != nil {
		return nil, nil, err
	}
	withoutProof := append([]byte("c="+base64.StdEncoding.EncodeToString([]byte("n,,"))+",r="), nonce...)
	auth := bytes.Join([][]byte{bare, challenge, withoutProof}, []byte{','})
	clientKey := hmacSum(fn, salted, []byte("Client Key"))
	storedKey := fn()
	storedKey.Write(clientKey)
	proof := hmacSum(fn, storedKey.Sum(nil), auth)
	subtle.XORBytes(proof, proof, clientKey)
	serverSig = hmacSum(fn, hmacSum(fn, salted, []byte("Server Key")), auth)
	final = append(append(withoutProof, ",p="...), base64.StdEncoding.EncodeToString(proof)...)
	return final, serverSig, nil
}

func hmacSum(fn func() hash.Hash, key, msg []byte) []byte {
	h := hmac.New(fn, key)
	h.Write(msg)
	return h.Sum(nil)
}

// escapeSaslname escapes ',' and '=' in a SCRAM user name (RFC 5802 §5.1).
func escapeSaslname(name []byte) []byte {
	name = bytes.ReplaceAll(name, []byte("="), []byte("=3D"))
	return bytes.ReplaceAll(name, []byte(","), []byte("=2C"))
}

// scramMechanisms are the mechanisms ctload offers, SHA-256 preferred.
func (c *saltedCache) scramMechanisms() []sasl.Mechanism {
	return []sasl.Mechanism{c.scramClient("SCRAM-SHA-256", sha256.New), c.scramClient("SCRAM-SHA-1", sha1.New)}
}
