package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// XEP-0388 SASL2 and XEP-0386 Bind 2 for xmpp-login -sasl2.
const (
	nsSASL2 = "urn:xmpp:sasl:2"
	nsBind2 = "urn:xmpp:bind:0"
)

// auth2 runs SCRAM (SHA-256 if offered, else SHA-1) in a XEP-0388
// <authenticate/> carrying a Bind 2 request, over the features just read:
// the server's signature is checked and the session must be bound
// (<bound/>, and a full JID as the authorization identifier) before it
// counts. The features that follow <success/> are read too: the stream is
// not restarted.
func (s *rawSession) auth2(c *saltedCache, acct account) error {
	feat := s.rd.child(nsSASL2, "authentication")
	if feat < 0 {
		return errors.New("the server offers no SASL2")
	}
	var offered []string
	s.rd.children(feat, func(n *xmlNode) {
		if n.is(nsSASL2, "mechanism") {
			offered = append(offered, string(bytes.TrimSpace(n.text)))
		}
	})
	if !s.hasInlineBind(feat) {
		return errors.New("the server offers no Bind 2")
	}
	name, fn, err := pickSCRAM(offered)
	if err != nil {
		return err
	}
	nonce, bare, first := scramFirst(acct)
	if err := s.write("<authenticate xmlns='" + nsSASL2 + "' mechanism='" + name + "'><initial-response>" +
		base64.StdEncoding.EncodeToString(first) + "</initial-response><user-agent id='" + userAgentID(acct) +
		"'><software>ctload</software></user-agent><bind xmlns='" + nsBind2 + "'><tag>ctload</tag></bind></authenticate>"); err != nil {
		return err
	}
	challenge, err := s.sasl2Step("challenge")
	if err != nil {
		return err
	}
	final, serverSig, err := c.scramFinal(name, fn, []byte(acct.Password), nonce, bare, challenge)
	if err != nil {
		return err
	}
	if err := s.write("<response xmlns='" + nsSASL2 + "'>" + base64.StdEncoding.EncodeToString(final) + "</response>"); err != nil {
		return err
	}
	if _, err := s.sasl2Step("success"); err != nil {
		return err
	}
	var data, jid []byte
	bound := false
	s.rd.children(0, func(n *xmlNode) {
		switch {
		case n.is(nsSASL2, "additional-data"):
			data = bytes.TrimSpace(n.text)
		case n.is(nsSASL2, "authorization-identifier"):
			jid = bytes.TrimSpace(n.text)
		case n.is(nsBind2, "bound"):
			bound = true
		}
	})
	sig, err := base64.StdEncoding.DecodeString(string(data))
	if err != nil {
		return fmt.Errorf("additional data: %w", err)
	}
	want := "v=" + base64.StdEncoding.EncodeToString(serverSig)
	if subtle.ConstantTimeCompare([]byte(want), sig) != 1 {
		if len(sig) == 0 {
			return errors.New("no server signature")
		}
		return errors.New("wrong server signature")
	}
	if !bound || !bytes.Contains(jid, []byte("/")) {
		return fmt.Errorf("bind 2: not bound (identifier %q)", jid)
	}
	s.jid = append(s.jid[:0], jid...)
	if err := s.read(); err != nil {
		return fmt.Errorf("stream features: %w", err)
	}
	if !s.rd.top().is(nsStreams, "features") {
		return fmt.Errorf("stream features: got <%s/>", s.rd.top().local)
	}
	return nil
}

// hasInlineBind reports whether the <authentication/> feature at index
// feat lists Bind 2 in its <inline/>.
func (s *rawSession) hasInlineBind(feat int) bool {
	d := s.rd.nodes[feat].depth
	inline := false
	for i := feat + 1; i < len(s.rd.nodes) && s.rd.nodes[i].depth > d; i++ {
		n := &s.rd.nodes[i]
		switch {
		case n.depth == d+1:
			inline = n.is(nsSASL2, "inline")
		case n.depth == d+2 && inline && n.is(nsBind2, "bind"):
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
