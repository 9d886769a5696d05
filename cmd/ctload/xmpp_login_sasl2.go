package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// XEP-0388 SASL2 and XEP-0386 Bind 2 for xmpp-login -sasl2.
const (
	nsSASL2 = "urn:xmpp:sasl:2"
	nsBind2 = "urn:xmpp:bind:0"
	nsFAST  = "urn:xmpp:fast:0"
	htNone  = "HT-SHA-256-NONE"
)

// tokenCache keeps each account's FAST token, as a client keeps it.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]string
	// used counts the logins made with a token.
	used atomic.Int64
}

func newTokenCache() *tokenCache { return &tokenCache{m: make(map[string]string)} }

func (c *tokenCache) get(key string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *tokenCache) put(key, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = token
}

// drop forgets a token that failed, unless another login replaced it.
func (c *tokenCache) drop(key, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[key] == token {
		delete(c.m, key)
	}
}

// htMAC is HMAC-SHA-256(token, label): the HT-SHA-256-NONE initiator or
// responder message (draft-schmaus-kitten-sasl-ht).
func htMAC(token, label string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(label))
	return m.Sum(nil)
}

// auth2 opens the stream with header and runs SCRAM (SHA-256 if
// offered, else SHA-1) in a XEP-0388 <authenticate/> carrying a Bind 2
// request: the server's signature is checked and the session must be
// bound (<bound/>, and a full JID as the authorization identifier) before
// it counts. The features that follow <success/> are read too: the
// stream is not restarted. With -fast, an account with a token logs in
// with it (HT-SHA-256-NONE, the server's HT responder message checked
// instead of the SCRAM signature); one without asks for one with its
// SCRAM login. With -quickstart, once a login has found SASL2, Bind 2
// (and FAST) offered, the <authenticate/> goes right behind the stream
// header, before the features are read.
func (s *rawSession) auth2(x *xmppClient, acct account, header string) error {
	mech, quick := x.sasl2Mechanism()
	if quick {
		if err := s.write(header); err != nil {
			return err
		}
	} else {
		if err := s.restart(header); err != nil {
			return err
		}
		var err error
		if mech, err = s.sasl2Offers(x.cfg.Fast); err != nil {
			return err
		}
	}
	key := acct.Local + "@" + acct.Domain
	token := ""
	if x.cfg.Fast {
		token = x.tokens.get(key)
	}
	var first, nonce, bare []byte
	if token != "" {
		initial := append([]byte(acct.Local+"\x00"), htMAC(token, "Initiator")...)
		if err := s.write(authenticate(htNone, initial, acct, "<fast xmlns='"+nsFAST+"'/>")); err != nil {
			return err
		}
	} else {
		extra := ""
		if x.cfg.Fast {
			extra = "<request-token xmlns='" + nsFAST + "' mechanism='" + htNone + "'/>"
		}
		nonce, bare, first = scramFirst(acct)
		if err := s.write(authenticate(mech, first, acct, extra)); err != nil {
			return err
		}
	}
	if quick {
		if err := s.features(); err != nil {
			return err
		}
	}
	var err error
	if token != "" {
		err = s.fastResult(x, key, token)
	} else if err = s.scram2(x, acct, mech, nonce, bare, key); err == nil {
		x.learnSASL2(mech)
	}
	if err == nil && quick {
		x.quickLogins.Add(1)
	}
	return err
}

// sasl2Mechanism returns the SCRAM mechanism an earlier login found with
// SASL2 and Bind 2 offered, and whether -quickstart may send the
// <authenticate/> before reading the features (learnSASL2 records one
// only with -quickstart).
func (x *xmppClient) sasl2Mechanism() (string, bool) {
	if m := x.quickMech.Load(); m != nil {
		return *m, true
	}
	return "", false
}

// learnSASL2 records that a SASL2 login with mech succeeded.
func (x *xmppClient) learnSASL2(mech string) {
	if x.cfg.Quickstart && x.quickMech.Load() == nil {
		x.quickMech.Store(&mech)
	}
}

// sasl2Offers checks the features just read for SASL2 with Bind 2 (and
// FAST when fast is set) and returns the SCRAM mechanism to use.
func (s *rawSession) sasl2Offers(fast bool) (string, error) {
	feat, offered := s.mechanisms(nsSASL2, "authentication")
	if feat < 0 {
		return "", errors.New("the server offers no SASL2")
	}
	if !s.hasInline(feat, nsBind2, "bind") {
		return "", errors.New("the server offers no Bind 2")
	}
	if fast && !s.hasInline(feat, nsFAST, "fast") {
		return "", errors.New("the server offers no FAST")
	}
	name, _, err := pickSCRAM(offered)
	return name, err
}

// authenticate is a SASL2 <authenticate/> with mechanism and initial
// response, the user agent, a Bind 2 request and extra.
func authenticate(mechanism string, initial []byte, acct account, extra string) string {
	return "<authenticate xmlns='" + nsSASL2 + "' mechanism='" + mechanism + "'><initial-response>" +
		base64.StdEncoding.EncodeToString(initial) + "</initial-response><user-agent id='" + userAgentID(acct) +
		"'><software>ctload</software></user-agent><bind xmlns='" + nsBind2 + "'><tag>ctload</tag></bind>" +
		extra + "</authenticate>"
}

// scram2 ends the SCRAM exchange an <authenticate/> started: the
// challenge, the response, <success/> with the server's signature; with
// -fast the token the success must carry is kept.
func (s *rawSession) scram2(x *xmppClient, acct account, mech string, nonce, bare []byte, key string) error {
	challenge, err := s.sasl2Step("challenge")
	if err != nil {
		return err
	}
	final, serverSig, err := x.salted.scramFinal(mech, scramHash(mech), []byte(acct.Password), nonce, bare, challenge)
	if err != nil {
		return err
	}
	if err := s.write("<response xmlns='" + nsSASL2 + "'>" + base64.StdEncoding.EncodeToString(final) + "</response>"); err != nil {
		return err
	}
	if _, err := s.sasl2Step("success"); err != nil {
		return err
	}
	token, err := s.success2([]byte("v=" + base64.StdEncoding.EncodeToString(serverSig)))
	if err != nil {
		return err
	}
	if x.cfg.Fast {
		if token == "" {
			return errors.New("fast: no token issued")
		}
		x.tokens.put(key, token)
	}
	return nil
}

// fastResult reads the answer to a FAST <authenticate/> with token: the
// server's HT responder message checked, the session bound, a rotated
// token kept. A refused token is dropped, so the next login uses the
// password (XEP-0484 §5.1).
func (s *rawSession) fastResult(x *xmppClient, key, token string) error {
	if _, err := s.sasl2Step("success"); err != nil {
		x.tokens.drop(key, token)
		return fmt.Errorf("fast: %w", err)
	}
	newToken, err := s.success2(htMAC(token, "Responder"))
	if err != nil {
		return fmt.Errorf("fast: %w", err)
	}
	if newToken != "" {
		x.tokens.put(key, newToken) // rotated
	}
	x.tokens.used.Add(1)
	return nil
}

// success2 checks the <success/> just read: its additional data must be
// want (the SCRAM server-final-message or the HT responder message), and
// a session bound; it reads the stream features that follow and returns
// the FAST token the success carries, if any.
func (s *rawSession) success2(want []byte) (string, error) {
	var data, jid []byte
	var token string
	bound := false
	s.rd.children(0, func(n *xmlNode) {
		switch {
		case n.is(nsSASL2, "additional-data"):
			data = bytes.TrimSpace(n.text)
		case n.is(nsSASL2, "authorization-identifier"):
			jid = bytes.TrimSpace(n.text)
		case n.is(nsBind2, "bound"):
			bound = true
		case n.is(nsFAST, "token"):
			t, _ := n.attr("token")
			token = string(t)
		}
	})
	got, err := base64.StdEncoding.DecodeString(string(data))
	if err != nil {
		return "", fmt.Errorf("additional data: %w", err)
	}
	if subtle.ConstantTimeCompare(want, got) != 1 {
		if len(got) == 0 {
			return "", errors.New("no server signature")
		}
		return "", errors.New("wrong server signature")
	}
	if !bound || !bytes.Contains(jid, []byte("/")) {
		return "", fmt.Errorf("bind 2: not bound (identifier %q)", jid)
	}
	s.jid = append(s.jid[:0], jid...)
	if err := s.read(); err != nil {
		return "", fmt.Errorf("stream features: %w", err)
	}
	if !s.rd.top().is(nsStreams, "features") {
		return "", fmt.Errorf("stream features: got <%s/>", s.rd.top().local)
	}
	return token, nil
}

// hasInline reports whether the <authentication/> feature at index feat
// lists {ns}local in its <inline/>.
func (s *rawSession) hasInline(feat int, ns, local string) bool {
	d := s.rd.nodes[feat].depth
	inline := false
	for i := feat + 1; i < len(s.rd.nodes) && s.rd.nodes[i].depth > d; i++ {
		n := &s.rd.nodes[i]
		switch {
		case n.depth == d+1:
			inline = n.is(nsSASL2, "inline")
		case n.depth == d+2 && inline && n.is(ns, local):
			return true
		}
	}
	return false
}

// sasl2Step reads the next SASL2 element, which must be want, and returns
// the decoded text of a challenge; <failure/> is an error with its
// condition.
func (s *rawSession) sasl2Step(want string) ([]byte, error) {
	if err := s.read(); err != nil {
		return nil, err
	}
	top := s.rd.top()
	if top.is(nsSASL2, "failure") {
		return nil, fmt.Errorf("failure: %s", s.rd.condition(0, nsSASL))
	}
	if !top.is(nsSASL2, want) {
		return nil, fmt.Errorf("expected <%s/>, got <%s xmlns='%s'/>", want, top.local, top.ns)
	}
	if want != "challenge" {
		return nil, nil
	}
	data, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(top.text)))
	if err != nil {
		return nil, fmt.Errorf("<challenge/> data: %w", err)
	}
	return data, nil
}

// userAgentID is a stable UUID (version 4 form) for an account, as one
// client installation per account would send.
func userAgentID(acct account) string {
	h := sha256.Sum256([]byte("ctload " + acct.Local + "@" + acct.Domain))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
