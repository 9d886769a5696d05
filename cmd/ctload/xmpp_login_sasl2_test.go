package main

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/scram"
)

// sasl2Features offers SASL2 with Bind 2, as Crosstalk does.
const sasl2Features = `<stream:features><authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-256</mechanism>` +
	`<inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/></inline></bind></inline></authentication></stream:features>`

// tcpPair is a connected pair of loopback TCP connections (net.Pipe does
// not buffer, and a client that holds its writes until it reads would
// wait there for a server that writes first).
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	for _, c := range []net.Conn{client, server} {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// openStream is the server's side of a stream's start: it reads the
// client's stream header and, unless quick, sends its own header and
// features before the client's first element is read (quick: only
// after, so a client that waits for the features never gets them); it
// returns the reader, positioned on that first element.
func openStream(conn net.Conn, features string, quick bool) (*elemReader, error) {
	rd := newElemReader(conn)
	if kind, err := rd.next(); err != nil || kind != elemHeader {
		return nil, fmt.Errorf("client stream header: %v %v", kind, err)
	}
	if !quick {
		if _, err := io.WriteString(conn, streamHead+features); err != nil {
			return nil, err
		}
	}
	if kind, err := rd.next(); err != nil || kind != elemWhole {
		return nil, fmt.Errorf("first element: %v %v", kind, err)
	}
	if quick {
		if _, err := io.WriteString(conn, streamHead+features); err != nil {
			return nil, err
		}
	}
	return rd, nil
}

// serveSASL2 is the server side of one SASL2 exchange: a real SCRAM
// server; success renders the <success/> (and what follows) from the
// server-final-message v (base64). With quick, it answers only a client
// that sends its <authenticate/> without waiting for the features.
func serveSASL2(conn net.Conn, features string, success func(v string) string, quick bool) error {
	keys, err := crosstalk.DeriveSCRAMKeys(sha256.New, "pencil", []byte("0123456789abcdef"), 4096)
	if err != nil {
		return err
	}
	srv := scram.New(scram.SHA256, false, nil, func(string) (crosstalk.SCRAMKeys, error) { return keys, nil })
	rd, err := openStream(conn, features, quick)
	if err != nil {
		return err
	}
	if !rd.top().is(nsSASL2, "authenticate") {
		return fmt.Errorf("got <%s/>, want <authenticate/>", rd.top().local)
	}
	var initial []byte
	bind := false
	rd.children(0, func(n *xmlNode) {
		if n.is(nsSASL2, "initial-response") {
			initial, _ = base64.StdEncoding.DecodeString(string(n.text))
		}
		bind = bind || n.is(nsBind2, "bind")
	})
	if !bind {
		return fmt.Errorf("no bind request")
	}
	out, err := srv.Step(initial)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(conn, "<challenge xmlns='urn:xmpp:sasl:2'>"+base64.StdEncoding.EncodeToString(out)+"</challenge>"); err != nil {
		return err
	}
	if kind, err := rd.next(); err != nil || kind != elemWhole || !rd.top().is(nsSASL2, "response") {
		return fmt.Errorf("response: %v", err)
	}
	final, _ := base64.StdEncoding.DecodeString(string(rd.top().text))
	if out, err = srv.Step(final); err != nil {
		_, _ = io.WriteString(conn, "<failure xmlns='urn:xmpp:sasl:2'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></failure>")
		return err
	}
	_, err = io.WriteString(conn, success(base64.StdEncoding.EncodeToString(out)))
	return err
}

// TestRawAuth2 checks that xmpp-login -sasl2 counts a login only with the
// server's signature verified and a session bound.
func TestRawAuth2(t *testing.T) {
	const features = "<stream:features/>"
	ok := func(v string) string {
		return "<success xmlns='urn:xmpp:sasl:2'><additional-data>" + v + "</additional-data>" +
			"<authorization-identifier>user@localhost/ctload/abc</authorization-identifier><bound xmlns='urn:xmpp:bind:0'/></success>" + features
	}
	for name, tc := range map[string]struct {
		features string
		success  func(string) string
		password string
		err      string
	}{
		"bound":          {success: ok},
		"wrong password": {success: ok, password: "wrong", err: "failure: not-authorized"},
		"not bound": {success: func(v string) string {
			return "<success xmlns='urn:xmpp:sasl:2'><additional-data>" + v + "</additional-data><authorization-identifier>user@localhost</authorization-identifier></success>" + features
		}, err: `bind 2: not bound (identifier "user@localhost")`},
		"wrong server signature": {success: func(string) string {
			return ok(base64.StdEncoding.EncodeToString([]byte("v=AAAA")))
		}, err: "wrong server signature"},
		"no server signature": {success: func(string) string {
			return "<success xmlns='urn:xmpp:sasl:2'><authorization-identifier>user@localhost/x</authorization-identifier><bound xmlns='urn:xmpp:bind:0'/></success>" + features
		}, err: "no server signature"},
		"no features after success": {success: func(v string) string { return strings.TrimSuffix(ok(v), features) + "</stream:stream>" },
			err: "stream features: server ended the stream"},
		"no bind 2 offered": {features: strings.Replace(sasl2Features, "urn:xmpp:bind:0", "urn:x", 1), err: "the server offers no Bind 2"},
		"no sasl2 offered":  {features: "<stream:features/>", err: "the server offers no SASL2"},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.features == "" {
				tc.features = sasl2Features
			}
			if tc.password == "" {
				tc.password = "pencil"
			}
			cc, sc := tcpPair(t)
			go func() {
				defer sc.Close()
				_ = serveSASL2(sc, tc.features, tc.success, false)
			}()
			s := newTestSession(cc)
			x := &xmppClient{cfg: &config{}, salted: newSaltedCache(), tokens: newTokenCache()}
			err := s.auth2(x, account{Local: "user", Domain: "localhost", Password: tc.password}, streamHeader("localhost"))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("auth2: %v", err)
			case tc.err != "" && fmt.Sprint(err) != tc.err:
				t.Fatalf("auth2 error %v, want %s", err, tc.err)
			case tc.err == "" && string(s.jid) != "user@localhost/ctload/abc":
				t.Fatalf("jid %q", s.jid)
			}
		})
	}
}

// newTestSession is a raw login's session on conn, its writes held as
// rawLogin holds them.
func newTestSession(conn net.Conn) *rawSession {
	hc := &heldConn{Conn: conn}
	return &rawSession{conn: hc, w: hc, rd: newElemReader(hc)}
}

// TestQuickstart checks that xmpp-login -quickstart waits for the
// features at its first SASL2 login, and afterwards sends its
// <authenticate/> right behind the stream header: the second server
// answers nothing until it has the <authenticate/>, so a client that
// still waited would time out.
func TestQuickstart(t *testing.T) {
	const features = "<stream:features/>"
	ok := func(v string) string {
		return "<success xmlns='urn:xmpp:sasl:2'><additional-data>" + v + "</additional-data>" +
			"<authorization-identifier>user@localhost/ctload/abc</authorization-identifier><bound xmlns='urn:xmpp:bind:0'/></success>" + features
	}
	x := &xmppClient{cfg: &config{SASL2: true, Quickstart: true}, salted: newSaltedCache(), tokens: newTokenCache()}
	acct := account{Local: "user", Domain: "localhost", Password: "pencil"}
	for i, quick := range []bool{false, true, true} {
		before := x.quickLogins.Load()
		cc, sc := tcpPair(t)
		_ = cc.SetDeadline(time.Now().Add(2 * time.Second))
		served := make(chan error, 1)
		go func() {
			defer sc.Close()
			served <- serveSASL2(sc, sasl2Features, ok, quick)
		}()
		s := newTestSession(cc)
		if err := s.auth2(x, acct, streamHeader("localhost")); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if err := <-served; err != nil {
			t.Fatalf("login %d: server: %v", i, err)
		}
		if string(s.jid) != "user@localhost/ctload/abc" {
			t.Fatalf("login %d: jid %q", i, s.jid)
		}
		if counted := x.quickLogins.Load() - before; counted != map[bool]int64{false: 0, true: 1}[quick] {
			t.Fatalf("login %d (quick %v) counted %d quick logins", i, quick, counted)
		}
	}
	// Without -quickstart the client waits for the features, always.
	x = &xmppClient{cfg: &config{SASL2: true}, salted: newSaltedCache(), tokens: newTokenCache()}
	for i := range 2 {
		cc, sc := tcpPair(t)
		go func() {
			defer sc.Close()
			_ = serveSASL2(sc, sasl2Features, ok, false)
		}()
		if err := newTestSession(cc).auth2(x, acct, streamHeader("localhost")); err != nil {
			t.Fatalf("login %d without -quickstart: %v", i, err)
		}
	}
}

func TestUserAgentID(t *testing.T) {
	a, b := userAgentID(account{Local: "a", Domain: "d"}), userAgentID(account{Local: "b", Domain: "d"})
	if a == b || len(a) != 36 || a[14] != '4' || !strings.ContainsAny(a[19:20], "89ab") || a != userAgentID(account{Local: "a", Domain: "d"}) {
		t.Fatalf("ids %q %q", a, b)
	}
}

// TestRawFAST checks that xmpp-login -fast counts a token login only with
// the server's HT responder message right and a session bound, keeps a
// rotated token and drops a refused one.
func TestRawFAST(t *testing.T) {
	const features = `<stream:features><authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-256</mechanism>` +
		`<inline><bind xmlns='urn:xmpp:bind:0'/><fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism></fast></inline></authentication></stream:features>`
	bound := "<authorization-identifier>user@localhost/ctload/x</authorization-identifier><bound xmlns='urn:xmpp:bind:0'/>"
	for name, tc := range map[string]struct {
		answer    func(token string) string
		err, kept string
	}{
		"ok": {answer: func(tok string) string {
			return "<success xmlns='urn:xmpp:sasl:2'><additional-data>" + base64.StdEncoding.EncodeToString(htMAC(tok, "Responder")) + "</additional-data>" + bound + "</success><stream:features/>"
		}, kept: "tok"},
		"rotated": {answer: func(tok string) string {
			return "<success xmlns='urn:xmpp:sasl:2'><additional-data>" + base64.StdEncoding.EncodeToString(htMAC(tok, "Responder")) + "</additional-data>" + bound +
				"<token xmlns='urn:xmpp:fast:0' token='tok2' expiry='2030-01-01T00:00:00Z'/></success><stream:features/>"
		}, kept: "tok2"},
		"wrong responder": {answer: func(tok string) string {
			return "<success xmlns='urn:xmpp:sasl:2'><additional-data>" + base64.StdEncoding.EncodeToString(htMAC(tok, "Initiator")) + "</additional-data>" + bound + "</success><stream:features/>"
		}, err: "fast: wrong server signature", kept: "tok"},
		"refused": {answer: func(string) string {
			return "<failure xmlns='urn:xmpp:sasl:2'><credentials-expired xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></failure>"
		}, err: "fast: failure: credentials-expired"},
	} {
		t.Run(name, func(t *testing.T) {
			cc, sc := tcpPair(t)
			proof := make(chan string, 1)
			go func() {
				defer sc.Close()
				rd, err := openStream(sc, features, false)
				if err != nil {
					proof <- err.Error()
					return
				}
				var initial []byte
				rd.children(0, func(n *xmlNode) {
					if n.is(nsSASL2, "initial-response") {
						initial, _ = base64.StdEncoding.DecodeString(string(n.text))
					}
				})
				proof <- string(initial)
				_, _ = io.WriteString(sc, tc.answer("tok"))
			}()
			s := newTestSession(cc)
			x := &xmppClient{cfg: &config{Fast: true, SASL2: true}, salted: newSaltedCache(), tokens: newTokenCache()}
			x.tokens.put("user@localhost", "tok")
			err := s.auth2(x, account{Local: "user", Domain: "localhost", Password: "pencil"}, streamHeader("localhost"))
			if got := <-proof; got != "user\x00"+string(htMAC("tok", "Initiator")) {
				t.Fatalf("initial response %q", got)
			}
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("auth2: %v", err)
			case tc.err != "" && fmt.Sprint(err) != tc.err:
				t.Fatalf("auth2: %v, want %s", err, tc.err)
			}
			if got := x.tokens.get("user@localhost"); got != tc.kept {
				t.Fatalf("token kept %q, want %q", got, tc.kept)
			}
		})
	}
}
