package xmpp

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"strings"
	"testing"

	"mellium.im/sasl"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/carbons"
)

// testUserAgent is a client installation id (a UUID v4).
const testUserAgent = "d4565fa7-4d72-4749-b3d3-740edbf87770"

// sasl2Feature is the XEP-0388 stream feature as a test reads it.
type sasl2Feature struct {
	Mechanisms []string `xml:"mechanism"`
	Inline     struct {
		Bind *struct {
			Features []struct {
				Var string `xml:"var,attr"`
			} `xml:"inline>feature"`
		} `xml:"urn:xmpp:bind:0 bind"`
		SM   *struct{} `xml:"urn:xmpp:sm:3 sm"`
		Fast *struct {
			Mechanisms []string `xml:"mechanism"`
		} `xml:"urn:xmpp:fast:0 fast"`
	} `xml:"inline"`
}

// sasl2Of returns the XEP-0388 feature of a features element, nil if not
// offered.
func sasl2Of(t testing.TB, features el) *sasl2Feature {
	t.Helper()
	var f struct {
		Auth *sasl2Feature `xml:"urn:xmpp:sasl:2 authentication"`
	}
	if err := xml.Unmarshal([]byte("<f>"+features.Inner+"</f>"), &f); err != nil {
		t.Fatalf("features: %v", err)
	}
	return f.Auth
}

// auth2 runs a XEP-0388 exchange with mellium's client mechanism; extra is
// what <authenticate/> carries beyond the initial response. It returns
// the success (its server signature checked) or the failure.
func (c *client) auth2(mech sasl.Mechanism, user, password string, mechs []string, extra string) el {
	c.t.Helper()
	var st *tls.ConnectionState
	if tc, ok := c.conn.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		st = &cs
	}
	return sasl2Exchange(c.t, c.send, c.next, st, mech, user, password, mechs, extra)
}

// sasl2Exchange is auth2 over any test client: send and next write and
// read one element; st is the TLS state for channel binding (nil: none).
func sasl2Exchange(t testing.TB, send func(string), next func() el, st *tls.ConnectionState, mech sasl.Mechanism, user, password string, mechs []string, extra string) el {
	t.Helper()
	opts := []sasl.Option{
		sasl.Credentials(func() ([]byte, []byte, []byte) { return []byte(user), []byte(password), nil }),
		sasl.RemoteMechanisms(mechs...),
	}
	if st != nil {
		opts = append(opts, sasl.TLSState(*st))
	}
	neg := sasl.NewClient(mech, opts...)
	_, resp, err := neg.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	send("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='" + mech.Name + "'><initial-response>" +
		base64.StdEncoding.EncodeToString(resp) + "</initial-response>" + extra + "</authenticate>")
	for range 4 {
		e := next()
		switch e.XMLName.Local {
		case "challenge":
			if e.XMLName.Space != nsSASL2 {
				t.Fatalf("challenge in %q", e.XMLName.Space)
			}
			data, _ := base64.StdEncoding.DecodeString(e.Inner)
			_, resp, err := neg.Step(data)
			if err != nil {
				t.Fatalf("sasl step: %v", err)
			}
			send("<response xmlns='urn:xmpp:sasl:2'>" + base64.StdEncoding.EncodeToString(resp) + "</response>")
		case "success":
			var s struct {
				Data string `xml:"additional-data"`
			}
			_ = xml.Unmarshal([]byte("<s>"+e.Inner+"</s>"), &s)
			data, _ := base64.StdEncoding.DecodeString(s.Data)
			if _, _, err := neg.Step(data); err != nil || len(data) == 0 {
				t.Fatalf("server signature %q: %v", data, err)
			}
			return e
		default:
			return e
		}
	}
	t.Fatal("sasl2 did not finish")
	return el{}
}

// sasl2Success is a XEP-0388 <success/> as a test reads it.
type sasl2Success struct {
	Data       string    `xml:"additional-data"`
	Identifier string    `xml:"authorization-identifier"`
	Bound      *struct{} `xml:"urn:xmpp:bind:0 bound"`
}

func parseSuccess2(t testing.TB, e el) sasl2Success {
	t.Helper()
	if e.XMLName.Space != nsSASL2 || e.XMLName.Local != "success" {
		t.Fatalf("not a sasl2 success: %+v", e)
	}
	var s sasl2Success
	if err := xml.Unmarshal([]byte("<s>"+e.Inner+"</s>"), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// tlsFeatures dials the STARTTLS listener and returns the client and the
// features after TLS.
func (ts *testServer) tlsFeatures(t testing.TB) (*client, el) {
	t.Helper()
	c := dialRaw(t, ts.addr)
	c.open()
	c.startTLS(ts.roots)
	return c, c.open()
}

// TestSASL2Bind2 logs in with SASL2 SCRAM-SHA-256 and Bind 2 in one
// exchange: the bound address carries the tag, carbons are on, the stream
// is not restarted and the session exchanges messages at once.
func TestSASL2Bind2(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	bob := ts.login(t, ts.user(t, "bob"), "desk", true)

	c, f := ts.tlsFeatures(t)
	feat := sasl2Of(t, f)
	if feat == nil || !strings.Contains(strings.Join(feat.Mechanisms, " "), "SCRAM-SHA-256") || feat.Inline.Bind == nil {
		t.Fatalf("sasl2 feature: %+v in %s", feat, f.Inner)
	}
	var inline []string
	for _, x := range feat.Inline.Bind.Features {
		inline = append(inline, x.Var)
	}
	if strings.Join(inline, " ") != "urn:xmpp:carbons:2 urn:xmpp:csi:0 urn:xmpp:sm:3" || feat.Inline.SM == nil || feat.Inline.Fast == nil ||
		strings.Join(feat.Inline.Fast.Mechanisms, " ") != "HT-SHA-256-EXPR HT-SHA-256-ENDP HT-SHA-256-NONE" {
		t.Fatalf("inline features advertised: %q sm=%v fast=%+v", inline, feat.Inline.SM != nil, feat.Inline.Fast)
	}
	if mechs := mechanisms(f); strings.Join(mechs, " ") != strings.Join(feat.Mechanisms, " ") {
		t.Fatalf("sasl2 mechanisms %q differ from classic %q", feat.Mechanisms, mechs)
	}
	e := c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f),
		"<user-agent id='"+testUserAgent+"'><software>Crosstalk test</software><device>CI</device></user-agent>"+
			"<bind xmlns='urn:xmpp:bind:0'><tag>CrossTest</tag><enable xmlns='urn:xmpp:carbons:2'/><inactive xmlns='urn:xmpp:csi:0'/></bind>")
	s := parseSuccess2(t, e)
	if !strings.HasPrefix(s.Identifier, alice.String()+"/CrossTest/") || len(s.Identifier) <= len(alice.String()+"/CrossTest/") || s.Bound == nil {
		t.Fatalf("success: %+v (%s)", s, e.Inner)
	}
	// Features follow at once, without a restart, and offer no binding.
	after := c.next()
	if after.XMLName.Local != "features" || strings.Contains(after.Inner, nsBind) || !strings.Contains(after.Inner, "urn:xmpp:sm:3") {
		t.Fatalf("features after success: %+v", after)
	}
	c.jid = s.Identifier
	c.send("<presence/><message to='" + bob.jid + "' type='chat' id='m1'><body>via sasl2</body></message>")
	bob.expect("message", "via sasl2")
	bob.send("<message to='" + c.jid + "' type='chat' id='m2'><body>back</body></message>")
	c.expect("message", "back")
	// The session joins the server's registry when it starts serving,
	// just after the <success/> is written: it has served by now.
	addr := crosstalk.MustParseAddress(s.Identifier)
	var sess *session
	for _, x := range ts.srv.local.of(alice) {
		if x.addr == addr {
			sess = x
		}
	}
	if sess == nil || !carbons.Enabled(sess) || !sess.csi.inactive.Load() || sess.userAgent != testUserAgent {
		t.Fatalf("session %v: inline features not on", sess)
	}

	// The same installation logging in again replaces its first session.
	c2, f2 := ts.tlsFeatures(t)
	s2 := parseSuccess2(t, c2.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f2),
		"<user-agent id='"+strings.ToUpper(testUserAgent)+"'/><bind xmlns='urn:xmpp:bind:0'><tag>CrossTest</tag></bind>"))
	if s2.Identifier == s.Identifier || !strings.HasPrefix(s2.Identifier, alice.String()+"/CrossTest/") {
		t.Fatalf("second bind: %q after %q", s2.Identifier, s.Identifier)
	}
	if got := c.streamError(); got != "conflict" {
		t.Fatalf("first session of the installation: %q", got)
	}
}

// TestSASL2WithoutBind authenticates with SASL2 and binds the classic
// way, on the same stream.
func TestSASL2WithoutBind(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	c, f := ts.tlsFeatures(t)
	s := parseSuccess2(t, c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), ""))
	if s.Identifier != alice.String() || s.Bound != nil {
		t.Fatalf("success: %+v", s)
	}
	if after := c.next(); after.XMLName.Local != "features" || !strings.Contains(after.Inner, nsBind) {
		t.Fatalf("features after success: %+v", after)
	}
	c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>classic</resource></bind></iq>")
	c.expect("iq", alice.String()+"/classic")
	stillWorks(t, c)
}

// TestSASL2Failures: a wrong password is <not-authorized/> in the XEP-0388
// failure and counts towards the limits, which then refuse the right
// password too; a malformed <authenticate/> gets its own condition.
func TestSASL2Failures(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.LoginFailuresPerMinute = 3 })
	ts.user(t, "alice")
	c, f := ts.tlsFeatures(t)
	bind := "<bind xmlns='urn:xmpp:bind:0'><tag>x</tag></bind>"
	for i := range 3 {
		e := c.auth2(sasl.ScramSha256, "alice", "wrong", mechanisms(f), bind)
		want := "not-authorized"
		if e.XMLName.Space != nsSASL2 || e.XMLName.Local != "failure" || !strings.Contains(e.Inner, "<"+want+" xmlns='"+nsSASL+"'") {
			t.Fatalf("attempt %d: %+v", i, e)
		}
	}
	if got := c.streamError(); got != "policy-violation" {
		t.Fatalf("after 3 failures: %q", got)
	}
	c, f = ts.tlsFeatures(t)
	if e := c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), bind); !strings.Contains(e.Inner, "temporary-auth-failure") {
		t.Fatalf("limited login: %+v", e)
	}
	if len(ts.srv.local.of(crosstalk.MustParseAddress("alice@"+testDomain))) != 0 {
		t.Fatal("a failed login bound a session")
	}
}

// TestSASL2Malformed checks the failure conditions of malformed
// <authenticate/> elements; none binds anything.
func TestSASL2Malformed(t *testing.T) {
	ts := startServer(t, nil)
	ts.user(t, "alice")
	for _, tc := range []struct{ in, cond string }{
		{"<authenticate xmlns='urn:xmpp:sasl:2'><initial-response>biwsbj1hbGljZSxyPWFiYw==</initial-response></authenticate>", "invalid-mechanism"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-512'><initial-response>biwsbj1hbGljZSxyPWFiYw==</initial-response></authenticate>", "invalid-mechanism"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><initial-response>not base64!</initial-response></authenticate>", "incorrect-encoding"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><initial-response>biwsbj1hbGljZSxyPWFiYw==</initial-response><user-agent id='not-a-uuid'/></authenticate>", "malformed-request"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><initial-response>eHl6</initial-response></authenticate>", "malformed-request"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>AGFsaWNl</initial-response></authenticate>", "malformed-request"},
	} {
		c, _ := ts.tlsFeatures(t)
		c.send(tc.in)
		e := c.next()
		if e.XMLName.Space != nsSASL2 || e.XMLName.Local != "failure" || !strings.Contains(e.Inner, "<"+tc.cond+" xmlns='"+nsSASL+"'") {
			t.Errorf("%s: got %+v, want %s", tc.in, e, tc.cond)
		}
	}
	// An exchange interrupted by something else ends the stream.
	c, _ := ts.tlsFeatures(t)
	c.send("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><initial-response>biwsbj1hbGljZSxyPWFiYw==</initial-response></authenticate>")
	if e := c.next(); e.XMLName.Local != "challenge" {
		t.Fatalf("challenge: %+v", e)
	}
	c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>eA==</response>")
	if got := c.streamError(); got != "not-authorized" {
		t.Fatalf("classic response in a sasl2 exchange: %q", got)
	}
	if n := len(ts.srv.local.of(crosstalk.MustParseAddress("alice@" + testDomain))); n != 0 {
		t.Fatalf("%d sessions bound", n)
	}
}

// TestSASL2NotBeforeTLS: SASL2 is not offered before TLS, even when the
// server allows classic SASL there, and an <authenticate/> is refused.
func TestSASL2NotBeforeTLS(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.RequireTLS = false })
	ts.user(t, "alice")
	c := dialRaw(t, ts.addr)
	f := c.open()
	if sasl2Of(t, f) != nil || len(mechanisms(f)) == 0 {
		t.Fatalf("features before TLS: %s", f.Inner)
	}
	c.send("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><initial-response>biwsbj1hbGljZSxyPWFiYw==</initial-response></authenticate>")
	if got := c.streamError(); got != "not-authorized" {
		t.Fatalf("sasl2 before TLS: %q", got)
	}
}

// TestSASL2InlineSM enables stream management inside Bind 2: <enabled/>
// comes in <bound/>, stanzas are counted from the <success/> on, and the
// session resumes on a connection authenticated with SASL2.
func TestSASL2InlineSM(t *testing.T) {
	ts := startServer(t, nil)
	ts.user(t, "alice")
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	a, f := ts.tlsFeatures(t)
	e := a.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f),
		"<bind xmlns='urn:xmpp:bind:0'><tag>sm</tag><enable xmlns='urn:xmpp:sm:3' resume='true'/></bind>")
	var s struct {
		Identifier string `xml:"authorization-identifier"`
		Bound      struct {
			Enabled *struct {
				ID     string `xml:"id,attr"`
				Resume string `xml:"resume,attr"`
			} `xml:"urn:xmpp:sm:3 enabled"`
		} `xml:"urn:xmpp:bind:0 bound"`
	}
	if err := xml.Unmarshal([]byte("<s>"+e.Inner+"</s>"), &s); err != nil || s.Bound.Enabled == nil || s.Bound.Enabled.ID == "" || s.Bound.Enabled.Resume != "true" {
		t.Fatalf("success: %+v (%v)", e, err)
	}
	id := s.Bound.Enabled.ID
	a.jid = s.Identifier
	a.next() // features
	a.send("<presence/>")
	for _, body := range []string{"one", "two"} {
		b.send("<message to='" + a.jid + "' type='chat'><body>" + body + "</body></message>")
		a.expect("message", body)
	}
	a.send("<r xmlns='urn:xmpp:sm:3'/>")
	if e := a.expect("a", ""); e.attr("h") != "1" { // the presence
		t.Fatalf("ack: %+v", e)
	}
	_ = a.conn.Close()
	stillWorks(t, b)
	b.send("<message to='" + a.jid + "' type='chat'><body>three</body></message>")

	c, f := ts.tlsFeatures(t)
	parseSuccess2(t, c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), ""))
	c.next()                                                            // features
	c.send("<resume xmlns='urn:xmpp:sm:3' h='1' previd='" + id + "'/>") // handled: "one"
	if e := c.expect("resumed", ""); e.attr("previd") != id {
		t.Fatalf("resumed: %+v", e)
	}
	if e := c.expect("message", ""); !strings.Contains(e.Inner, "two") {
		t.Fatalf("first after resume: %+v", e)
	}
	c.expect("message", "three")
}

// TestWebSocketSASL2 logs in with SASL2 and Bind 2 over WebSocket (RFC
// 7395 over TLS): no <open/> after the <success/>, the features follow as
// their own message.
func TestWebSocketSASL2(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	bob := ts.login(t, ts.user(t, "bob"), "tcp", true)
	url, tc := startWebSocket(t, ts)
	c := dialWS(t, url, tc)
	f := c.open()
	if sasl2Of(t, f) == nil {
		t.Fatalf("no SASL2 over a TLS WebSocket: %s", f.Inner)
	}
	e := sasl2Exchange(t, c.send, c.next, nil, sasl.ScramSha256, "alice", ts.password, mechanisms(f),
		"<bind xmlns='urn:xmpp:bind:0'><tag>web</tag></bind>")
	s := parseSuccess2(t, e)
	if !strings.HasPrefix(s.Identifier, alice.String()+"/web/") || s.Bound == nil {
		t.Fatalf("success: %+v", e)
	}
	if f := c.next(); f.XMLName.Space != nsStream || f.XMLName.Local != "features" {
		t.Fatalf("after success: %+v", f)
	}
	c.send("<message xmlns='jabber:client' to='" + bob.jid + "' type='chat'><body>sasl2 over websocket</body></message>")
	bob.expect("message", "sasl2 over websocket")
}

// TestSASL2Limits: an <authenticate/> is held to the element size limit
// like any element, and SASL2 attempts to the negotiation's budget.
func TestSASL2Limits(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.StanzaSize = 10000 })
	ts.user(t, "alice")
	c, _ := ts.tlsFeatures(t)
	c.send("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><user-agent><software>" +
		strings.Repeat("x", 20000) + "</software></user-agent></authenticate>")
	if got := c.streamError(); got != "policy-violation" {
		t.Fatalf("oversized authenticate: %q", got)
	}
	c, _ = ts.tlsFeatures(t)
	for range maxSASLFailures {
		c.send("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='NOPE'/>")
		failedWith(t, c.next(), "invalid-mechanism")
	}
	if got := c.streamError(); got != "policy-violation" {
		t.Fatalf("after %d failures: %q", maxSASLFailures, got)
	}
}
