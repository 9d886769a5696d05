package xmpp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	goxmpp "github.com/xmppo/go-xmpp"
	"mellium.im/sasl"

	"github.com/crosstalk-im/crosstalk"
)

// fastToken is a XEP-0484 <token/> as a test reads it from a <success/>.
type fastTokenXML struct {
	Token  string `xml:"token,attr"`
	Expiry string `xml:"expiry,attr"`
}

func tokenOf(t testing.TB, e el) (fastTokenXML, bool) {
	t.Helper()
	var s struct {
		Token *fastTokenXML `xml:"urn:xmpp:fast:0 token"`
	}
	if err := xml.Unmarshal([]byte("<s>"+e.Inner+"</s>"), &s); err != nil {
		t.Fatal(err)
	}
	if s.Token == nil {
		return fastTokenXML{}, false
	}
	return *s.Token, true
}

func htMAC(token, label string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(label))
	return m.Sum(nil)
}

// fastLogin logs in with a token (HT-SHA-256-NONE) and Bind 2; it returns
// the client and the <success/> or <failure/>, the HT responder message
// of a success checked.
func (ts *testServer) fastLogin(t testing.TB, user, agent, token, fastAttrs string) (*client, el) {
	t.Helper()
	c, _ := ts.tlsFeatures(t)
	initial := append([]byte(user+"\x00"), htMAC(token, "Initiator")...)
	c.send("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>" +
		base64.StdEncoding.EncodeToString(initial) + "</initial-response><user-agent id='" + agent + "'/>" +
		"<bind xmlns='urn:xmpp:bind:0'><tag>fast</tag></bind><fast xmlns='urn:xmpp:fast:0'" + fastAttrs + "/></authenticate>")
	e := c.next()
	if e.XMLName.Local == "success" {
		s := parseSuccess2(t, e)
		data, _ := base64.StdEncoding.DecodeString(s.Data)
		if !hmac.Equal(data, htMAC(token, "Responder")) || s.Bound == nil {
			t.Fatalf("FAST success: %+v", e)
		}
		if f := c.next(); f.XMLName.Local != "features" {
			t.Fatalf("after success: %+v", f)
		}
	}
	return c, e
}

// requestToken logs in with SCRAM and asks for a HT-SHA-256-NONE token.
func (ts *testServer) requestToken(t testing.TB, user, agent string) string {
	t.Helper()
	c, f := ts.tlsFeatures(t)
	e := c.auth2(sasl.ScramSha256, user, ts.password, mechanisms(f),
		"<user-agent id='"+agent+"'/><bind xmlns='urn:xmpp:bind:0'/><request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/>")
	tok, ok := tokenOf(t, e)
	if !ok || len(tok.Token) < 80 {
		t.Fatalf("no token: %+v", e)
	}
	exp, err := time.Parse(time.RFC3339, tok.Expiry)
	if err != nil || !exp.After(time.Now()) {
		t.Fatalf("expiry %q: %v", tok.Expiry, err)
	}
	return tok.Token
}

func failedWith(t testing.TB, e el, cond string) {
	t.Helper()
	if e.XMLName.Space != nsSASL2 || e.XMLName.Local != "failure" || !strings.Contains(e.Inner, "<"+cond+" xmlns='"+nsSASL+"'") {
		t.Fatalf("got %+v, want a %s failure", e, cond)
	}
}

// TestFAST: a token is issued after a password login, logs in in one
// round trip, is scoped to its user-agent id, rotates after half its
// lifetime (the old one invalid once the new one is used), can be
// invalidated, and is refused after a password change and after expiry.
func TestFAST(t *testing.T) {
	const lifetime = 3 * time.Second
	ts := startServer(t, func(c *Config) { c.FastTokenLifetime = lifetime })
	alice := ts.user(t, "alice")
	bob := ts.login(t, ts.user(t, "bob"), "desk", true)
	t1 := ts.requestToken(t, "alice", testUserAgent)

	c, e := ts.fastLogin(t, "alice", testUserAgent, t1, "")
	s := parseSuccess2(t, e)
	if !strings.HasPrefix(s.Identifier, alice.String()+"/fast/") {
		t.Fatalf("bound %q", s.Identifier)
	}
	if _, ok := tokenOf(t, e); ok {
		t.Fatal("a fresh token was rotated")
	}
	c.send("<presence/><message to='" + bob.jid + "' type='chat'><body>fast hello</body></message>")
	bob.expect("message", "fast hello")

	_, e = ts.fastLogin(t, "alice", testUserAgent, t1+"x", "")
	failedWith(t, e, "not-authorized")
	_, e = ts.fastLogin(t, "alice", "0b8d2a4c-7f1e-4c3a-9d6b-2e5f8a1c3b7d", t1, "")
	failedWith(t, e, "not-authorized") // another installation's token
	_, e = ts.fastLogin(t, "bob", testUserAgent, t1, "")
	failedWith(t, e, "not-authorized") // another account's

	time.Sleep(lifetime/2 + 200*time.Millisecond)
	_, e = ts.fastLogin(t, "alice", testUserAgent, t1, "")
	rot, ok := tokenOf(t, e)
	if !ok || rot.Token == t1 {
		t.Fatalf("no rotation after half the lifetime: %+v", e)
	}
	// The old token is still good until the new one is used; it is due
	// for rotation still, so a newer token replaces the unused one.
	_, e = ts.fastLogin(t, "alice", testUserAgent, t1, "")
	rot2, ok := tokenOf(t, e)
	if !ok || rot2.Token == rot.Token {
		t.Fatalf("second rotation: %+v", e)
	}
	_, e = ts.fastLogin(t, "alice", testUserAgent, rot.Token, "")
	failedWith(t, e, "not-authorized")
	_, e = ts.fastLogin(t, "alice", testUserAgent, rot2.Token, "")
	if _, ok := tokenOf(t, e); ok || e.XMLName.Local != "success" {
		t.Fatalf("login with the new token: %+v", e)
	}
	_, e = ts.fastLogin(t, "alice", testUserAgent, t1, "")
	failedWith(t, e, "not-authorized") // the new token was used: the old one is gone

	_, e = ts.fastLogin(t, "alice", testUserAgent, rot2.Token, " invalidate='true'")
	if _, ok := tokenOf(t, e); ok {
		t.Fatal("a new token after invalidation")
	}
	_, e = ts.fastLogin(t, "alice", testUserAgent, rot2.Token, "")
	failedWith(t, e, "not-authorized")

	t3 := ts.requestToken(t, "alice", testUserAgent)
	if err := ts.hub.SetPassword(context.Background(), alice, "new password", crosstalk.MinSCRAMIterations); err != nil {
		t.Fatal(err)
	}
	_, e = ts.fastLogin(t, "alice", testUserAgent, t3, "")
	failedWith(t, e, "credentials-expired")

	ts.password = "new password"
	t4 := ts.requestToken(t, "alice", testUserAgent)
	time.Sleep(lifetime + 100*time.Millisecond)
	_, e = ts.fastLogin(t, "alice", testUserAgent, t4, "")
	failedWith(t, e, "credentials-expired")
}

// TestFASTLimits: wrong tokens count towards the per-account limit like
// wrong passwords; a token login without <fast/> or a user-agent id is
// refused; FAST off is not advertised and HT mechanisms are refused.
func TestFASTLimits(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.LoginFailuresPerMinute = 3 })
	ts.user(t, "alice")
	tok := ts.requestToken(t, "alice", testUserAgent)
	for range 3 {
		_, e := ts.fastLogin(t, "alice", testUserAgent, "guess", "")
		failedWith(t, e, "not-authorized")
	}
	_, e := ts.fastLogin(t, "alice", testUserAgent, tok, "")
	failedWith(t, e, "temporary-auth-failure")

	for _, tc := range []struct{ in, cond string }{
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>YWxpY2UA</initial-response><user-agent id='" + testUserAgent + "'/></authenticate>", "invalid-mechanism"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>YWxpY2UA</initial-response><fast xmlns='urn:xmpp:fast:0'/></authenticate>", "malformed-request"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>YWxpY2UA</initial-response><user-agent id='" + testUserAgent + "'/><fast xmlns='urn:xmpp:fast:0'/></authenticate>", "malformed-request"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><request-token xmlns='urn:xmpp:fast:0' mechanism='HT-MD5'/></authenticate>", "malformed-request"},
	} {
		off := startServer(t, nil)
		c, _ := off.tlsFeatures(t)
		c.send(tc.in)
		failedWith(t, c.next(), tc.cond)
	}

	off := startServer(t, func(c *Config) { c.FastTokenLifetime = 0 })
	c, f := off.tlsFeatures(t)
	if feat := sasl2Of(t, f); feat == nil || feat.Inline.Fast != nil {
		t.Fatalf("FAST off: %s", f.Inner)
	}
	c.send("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>YWxpY2UA</initial-response><fast xmlns='urn:xmpp:fast:0'/></authenticate>")
	failedWith(t, c.next(), "invalid-mechanism")
}

// TestGoXMPPFAST: go-xmpp asks for a token (it picks HT-SHA-256-EXPR on
// TLS 1.3), logs in with it, and exchanges a message.
func TestGoXMPPFAST(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	bob := ts.login(t, ts.user(t, "bob"), "desk", true)
	opts := goxmpp.Options{
		Host:        ts.tlsAddr,
		User:        alice.String(),
		Password:    ts.password,
		TLSConfig:   &tls.Config{ServerName: testDomain, RootCAs: ts.roots},
		UserAgentSW: "goxmpp-fast",
		UserAgentID: testUserAgent,
		Fast:        true,
		DialTimeout: 5 * time.Second,
	}
	first, err := opts.NewClient()
	if err != nil {
		t.Fatalf("password login: %v", err)
	}
	_ = first.Close()
	if first.Fast.Token == "" || first.Fast.Mechanism != "HT-SHA-256-EXPR" {
		t.Fatalf("no token: %+v", first.Fast)
	}
	opts.Password = "not the password: the token must do"
	opts.FastToken, opts.FastMechanism = first.Fast.Token, first.Fast.Mechanism
	c, err := opts.NewClient()
	if err != nil {
		t.Fatalf("token login: %v", err)
	}
	defer func() { _ = c.Close() }()
	if c.Mechanism != "HT-SHA-256-EXPR" || !strings.HasPrefix(c.JID(), alice.String()+"/goxmpp-fast/") {
		t.Fatalf("mechanism %q, bound %q", c.Mechanism, c.JID())
	}
	if _, _, err := c.Send(goxmpp.Chat{Remote: bob.jid, Type: "chat", Text: "hello via FAST"}); err != nil {
		t.Fatal(err)
	}
	bob.expect("message", "hello via FAST")
}
