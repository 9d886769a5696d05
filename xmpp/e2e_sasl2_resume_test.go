package xmpp

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"

	"github.com/crosstalk-im/crosstalk"
)

// sasl2SMSuccess is a XEP-0388 <success/> with what XEP-0198 and Bind 2
// put in it, as a test reads it.
type sasl2SMSuccess struct {
	Identifier string `xml:"authorization-identifier"`
	Resumed    *struct {
		PrevID string `xml:"previd,attr"`
		H      string `xml:"h,attr"`
	} `xml:"urn:xmpp:sm:3 resumed"`
	Failed *struct {
		H     *string `xml:"h,attr"`
		Inner string  `xml:",innerxml"`
	} `xml:"urn:xmpp:sm:3 failed"`
	Bound *struct {
		Enabled *struct {
			ID string `xml:"id,attr"`
		} `xml:"urn:xmpp:sm:3 enabled"`
		Metadata *struct {
			Start *archiveMark `xml:"start"`
			End   *archiveMark `xml:"end"`
			Inner string       `xml:",innerxml"`
		} `xml:"urn:xmpp:mam:2 metadata"`
	} `xml:"urn:xmpp:bind:0 bound"`
}

// archiveMark is a <start/> or <end/> of XEP-0313 archive metadata.
type archiveMark struct {
	ID        string `xml:"id,attr"`
	Timestamp string `xml:"timestamp,attr"`
}

func parseSMSuccess(t testing.TB, e el) sasl2SMSuccess {
	t.Helper()
	if e.XMLName.Space != nsSASL2 || e.XMLName.Local != "success" {
		t.Fatalf("not a sasl2 success: %+v", e)
	}
	var s sasl2SMSuccess
	if err := xml.Unmarshal([]byte("<s>"+e.Inner+"</s>"), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// smBind is a Bind 2 request that enables stream management with
// resumption.
const smBind = "<bind xmlns='urn:xmpp:bind:0'><tag>sm</tag><enable xmlns='urn:xmpp:sm:3' resume='true'/></bind>"

// loginSM logs user in with SASL2 and Bind 2, resumption on, and sends
// initial presence (the first stanza the server counts); it returns the
// client and the resumption id.
func (ts *testServer) loginSM(t testing.TB, user string) (*client, string) {
	t.Helper()
	c, f := ts.tlsFeatures(t)
	s := parseSMSuccess(t, c.auth2(sasl.ScramSha256, user, ts.password, mechanisms(f), smBind))
	if s.Bound == nil || s.Bound.Enabled == nil || s.Bound.Enabled.ID == "" {
		t.Fatalf("success: %+v", s)
	}
	c.jid = s.Identifier
	if e := c.next(); e.XMLName.Local != "features" {
		t.Fatalf("after success: %+v", e)
	}
	c.send("<presence/>")
	return c, s.Bound.Enabled.ID
}

// waitDetached waits until the session at full has no connection.
func (ts *testServer) waitDetached(t testing.TB, full string) {
	t.Helper()
	addr := crosstalk.MustParseAddress(full)
	for i := 0; ; i++ {
		for _, s := range ts.srv.local.of(addr.Bare()) {
			if s.addr != addr {
				continue
			}
			s.wmu.Lock()
			detached := s.wt == nil
			s.wmu.Unlock()
			if detached {
				return
			}
		}
		if i > 400 {
			t.Fatalf("%s never detached", full)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSASL2InlineResume resumes a session inside the <authenticate/>
// (XEP-0198 §"Inline Stream Resumption"): <resumed/> with the server's
// count comes in the <success/>, the Bind 2 request next to it is
// ignored, no stream features follow, and the stanzas the client had not
// acknowledged come again, counted on from its h, so that a second
// resumption resends only what came after the client's last ack.
func TestSASL2InlineResume(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	a, id := ts.loginSM(t, "alice")
	for _, body := range []string{"one", "two"} {
		b.send("<message to='" + a.jid + "' type='chat'><body>" + body + "</body></message>")
		a.expect("message", body)
	}
	a.send("<a xmlns='urn:xmpp:sm:3' h='1'/>") // handled: "one"
	stillWorks(t, b)
	_ = a.conn.Close()
	ts.waitDetached(t, a.jid)
	b.send("<message to='" + a.jid + "' type='chat'><body>three</body></message>")
	stillWorks(t, b)

	c, f := ts.tlsFeatures(t)
	if feat := sasl2Of(t, f); feat == nil || feat.Inline.SM == nil {
		t.Fatalf("inline sm not advertised: %s", f.Inner)
	}
	e := c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f),
		"<resume xmlns='urn:xmpp:sm:3' previd='"+id+"' h='1'/><bind xmlns='urn:xmpp:bind:0'><tag>other</tag></bind>")
	s := parseSMSuccess(t, e)
	if s.Resumed == nil || s.Resumed.PrevID != id || s.Resumed.H != "1" || s.Failed != nil || s.Bound != nil || s.Identifier != a.jid {
		t.Fatalf("success: %s", e.Inner)
	}
	// No features: the stream goes on where it was, with "two" and "three".
	if e := c.next(); e.XMLName.Local != "message" || !strings.Contains(e.Inner, "two") {
		t.Fatalf("first after the success: %+v", e)
	}
	c.expect("message", "three")
	c.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.expect("iq", "p1")
	c.send("<r xmlns='urn:xmpp:sm:3'/>")
	if e := c.expect("a", ""); e.attr("h") != "2" { // the presence and the ping
		t.Fatalf("ack after resumption: %+v", e)
	}
	if sessions := ts.srv.local.of(alice); len(sessions) != 1 || sessions[0].addr.String() != a.jid {
		t.Fatalf("sessions of alice: %d (the <bind/> must be ignored)", len(sessions))
	}

	// "two" and "three" were 2 and 3, the ping's result 4: after an ack of
	// 4 only what came later is resent.
	c.send("<a xmlns='urn:xmpp:sm:3' h='4'/>")
	stillWorks(t, b)
	_ = c.conn.Close()
	ts.waitDetached(t, a.jid)
	b.send("<message to='" + a.jid + "' type='chat'><body>four</body></message>")
	stillWorks(t, b)
	d, f := ts.tlsFeatures(t)
	s = parseSMSuccess(t, d.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), "<resume xmlns='urn:xmpp:sm:3' previd='"+id+"' h='4'/>"))
	if s.Resumed == nil || s.Resumed.H != "2" {
		t.Fatalf("second resumption: %+v", s)
	}
	if e := d.next(); e.XMLName.Local != "message" || !strings.Contains(e.Inner, "four") {
		t.Fatalf("first after the second resumption: %+v", e)
	}
}

// TestSASL2InlineResumeFallback: a resumption that fails is reported by
// <failed/> in the <success/>, and the Bind 2 request of the same
// <authenticate/> binds a new session (XEP-0198 §"Failed Resumption");
// without one, the stream features follow and the client binds.
func TestSASL2InlineResumeFallback(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	c, f := ts.tlsFeatures(t)
	e := c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), "<resume xmlns='urn:xmpp:sm:3' previd='gone' h='3'/>"+smBind)
	s := parseSMSuccess(t, e)
	if s.Failed == nil || !strings.Contains(s.Failed.Inner, "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>") || s.Resumed != nil ||
		s.Bound == nil || s.Bound.Enabled == nil || !strings.HasPrefix(s.Identifier, alice.String()+"/sm/") {
		t.Fatalf("success: %s", e.Inner)
	}
	if e := c.next(); e.XMLName.Local != "features" {
		t.Fatalf("after success: %+v", e)
	}
	stillWorks(t, c)

	c, f = ts.tlsFeatures(t)
	s = parseSMSuccess(t, c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), "<resume xmlns='urn:xmpp:sm:3' previd='gone' h='3'/>"))
	if s.Failed == nil || s.Bound != nil || s.Identifier != alice.String() {
		t.Fatalf("success without bind: %+v", s)
	}
	if e := c.next(); e.XMLName.Local != "features" || !strings.Contains(e.Inner, nsBind) {
		t.Fatalf("features: %+v", e)
	}
	c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>classic</resource></bind></iq>")
	c.expect("iq", alice.String()+"/classic")
}

// TestSASL2InlineSMNeedsResumption: with resumption off (ResumeTimeout
// 0) the inline <sm/> is not offered; a <resume/> sent anyway fails like
// an unknown id and Bind 2 binds.
func TestSASL2InlineSMNeedsResumption(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.ResumeTimeout = 0 })
	ts.user(t, "alice")
	c, f := ts.tlsFeatures(t)
	if feat := sasl2Of(t, f); feat == nil || feat.Inline.SM != nil || feat.Inline.Bind == nil {
		t.Fatalf("features: %s", f.Inner)
	}
	s := parseSMSuccess(t, c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), "<resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>"+smBind))
	if s.Failed == nil || !strings.Contains(s.Failed.Inner, "item-not-found") || s.Bound == nil {
		t.Fatalf("success: %+v", s)
	}
}

// TestSASL2InlineResumeOtherAccount: the resumption id of another
// account's session fails exactly like an unknown id, and leaves that
// session alone.
func TestSASL2InlineResumeOtherAccount(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	ts.user(t, "bob")
	b, bobID := ts.loginSM(t, "bob")
	failedOf := func(previd string) string {
		c, f := ts.tlsFeatures(t)
		e := c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), "<resume xmlns='urn:xmpp:sm:3' previd='"+previd+"' h='0'/>"+smBind)
		s := parseSMSuccess(t, e)
		if s.Failed == nil || s.Resumed != nil || s.Bound == nil || !strings.HasPrefix(s.Identifier, alice.String()+"/") {
			t.Fatalf("success with previd %q: %s", previd, e.Inner)
		}
		i, j := strings.Index(e.Inner, "<failed"), strings.Index(e.Inner, "</failed>")
		return e.Inner[i : j+len("</failed>")]
	}
	foreign, unknown := failedOf(bobID), failedOf("no-such-session")
	if foreign != unknown || !strings.Contains(foreign, "item-not-found") {
		t.Fatalf("another account's id: %s; an unknown id: %s", foreign, unknown)
	}
	// Bob's session is untouched, and he can still resume it himself.
	stillWorks(t, b)
	_ = b.conn.Close()
	ts.waitDetached(t, b.jid)
	c, f := ts.tlsFeatures(t)
	if s := parseSMSuccess(t, c.auth2(sasl.ScramSha256, "bob", ts.password, mechanisms(f), "<resume xmlns='urn:xmpp:sm:3' previd='"+bobID+"' h='0'/>")); s.Resumed == nil {
		t.Fatalf("bob's own resumption: %+v", s)
	}
	stillWorks(t, c)
}

// TestSASL2InlineResumeMalformed: a <resume/> without a numeric h or
// without previd is <bad-request/> in the <success/>, the login stands and
// Bind 2 binds; after a classic login the same <resume/> gets the same
// <failed/> and the client may bind.
func TestSASL2InlineResumeMalformed(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	_, id := ts.loginSM(t, "alice")
	for _, resume := range []string{
		"<resume xmlns='urn:xmpp:sm:3' previd='" + id + "'/>",
		"<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='two'/>",
		"<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='-1'/>",
		"<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='4294967296'/>",
		"<resume xmlns='urn:xmpp:sm:3' h='0'/>",
	} {
		c, f := ts.tlsFeatures(t)
		e := c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), resume+"<bind xmlns='urn:xmpp:bind:0'><tag>m</tag></bind>")
		s := parseSMSuccess(t, e)
		if s.Failed == nil || !strings.Contains(s.Failed.Inner, "<bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>") || s.Resumed != nil ||
			s.Bound == nil || !strings.HasPrefix(s.Identifier, alice.String()+"/m/") {
			t.Fatalf("%s: %s", resume, e.Inner)
		}
		stillWorks(t, c)
	}
	c := ts.reauth(t, alice)
	c.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h=''/>")
	if e := c.expect("failed", ""); !strings.Contains(e.Inner, "bad-request") {
		t.Fatalf("classic resume without h: %+v", e)
	}
	c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	c.expect("iq", "b1")
}

// TestBind2MAMMetadata: <bound/> carries the XEP-0313 metadata of the
// account's archive: empty before any message, then the id and time of
// the first and last archived messages, which a MAM query confirms; with
// archiving off there is none. The metadata does not wait for the archive
// writer (it is advisory), a MAM query does: the query runs before the
// second login, so that everything sent is written when it binds.
func TestBind2MAMMetadata(t *testing.T) {
	ts := startServer(t, nil)
	ts.user(t, "alice")
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	bind := "<bind xmlns='urn:xmpp:bind:0'><tag>mam</tag></bind>"
	c, f := ts.tlsFeatures(t)
	s := parseSMSuccess(t, c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), bind))
	if s.Bound == nil || s.Bound.Metadata == nil || s.Bound.Metadata.Inner != "" {
		t.Fatalf("empty archive: %+v", s.Bound)
	}
	c.jid = s.Identifier
	c.next() // features
	before := time.Now().Add(-time.Second)
	for _, body := range []string{"first", "middle", "last"} {
		c.send("<message to='bob@" + testDomain + "' type='chat'><body>" + body + "</body></message>")
		b.expect("message", body)
	}
	after := time.Now().Add(time.Second)
	c.send("<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2' queryid='all'/></iq>")
	var ids []string
	for range 3 {
		e := c.expect("message", "queryid='all'")
		var r struct {
			ID string `xml:"id,attr"`
		}
		i := strings.Index(e.Inner, "<result")
		_ = xml.Unmarshal([]byte(e.Inner[i:]), &r)
		ids = append(ids, r.ID)
	}
	c.expect("iq", "fin")

	d, f := ts.tlsFeatures(t)
	s = parseSMSuccess(t, d.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), bind))
	if s.Bound == nil || s.Bound.Metadata == nil || s.Bound.Metadata.Start == nil || s.Bound.Metadata.End == nil {
		t.Fatalf("archive metadata: %+v", s.Bound)
	}
	md := s.Bound.Metadata
	for _, m := range []*archiveMark{md.Start, md.End} {
		ts, err := time.Parse(time.RFC3339, m.Timestamp)
		if err != nil || ts.Before(before) || ts.After(after) || m.ID == "" {
			t.Fatalf("mark %+v: %v", m, err)
		}
	}
	if md.Start.ID != ids[0] || md.End.ID != ids[2] || md.Start.ID == md.End.ID {
		t.Fatalf("metadata %+v, %+v; archive ids %q", md.Start, md.End, ids)
	}

	off := startServerHub(t, nil, func(h *crosstalk.HubConfig) { h.Archive = false })
	off.user(t, "alice")
	c, f = off.tlsFeatures(t)
	if s := parseSMSuccess(t, c.auth2(sasl.ScramSha256, "alice", off.password, mechanisms(f), bind)); s.Bound == nil || s.Bound.Metadata != nil {
		t.Fatalf("archiving off: %+v", s.Bound)
	}
}

// TestWebSocketSASL2Resume resumes a session begun over TCP inside a
// SASL2 <authenticate/> sent over WebSocket (RFC 7395): the <success/>
// with <resumed/>, then the unacknowledged message, each its own
// WebSocket message.
func TestWebSocketSASL2Resume(t *testing.T) {
	ts := startServer(t, nil)
	ts.user(t, "alice")
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	url, tc := startWebSocket(t, ts)
	a, id := ts.loginSM(t, "alice")
	_ = a.conn.Close()
	ts.waitDetached(t, a.jid)
	b.send("<message to='" + a.jid + "' type='chat'><body>while away</body></message>")
	stillWorks(t, b)

	c := dialWS(t, url, tc)
	f := c.open()
	e := sasl2Exchange(t, c.send, c.next, nil, sasl.ScramSha256, "alice", ts.password, mechanisms(f),
		"<resume xmlns='urn:xmpp:sm:3' previd='"+id+"' h='0'/>")
	if s := parseSMSuccess(t, e); s.Resumed == nil || s.Resumed.H != "1" || s.Identifier != a.jid {
		t.Fatalf("success: %s", e.Inner)
	}
	if e := c.next(); e.XMLName.Local != "message" || !strings.Contains(e.Inner, "while away") {
		t.Fatalf("after the success: %+v", e)
	}
	c.send("<message xmlns='jabber:client' to='" + b.jid + "' type='chat'><body>back over websocket</body></message>")
	b.expect("message", "back over websocket")
}

// TestSASL2InlineResumeTooHigh: an inline <resume/> whose h is beyond
// what the session sent puts <failed h> with <undefined-condition/> and
// <handled-count-too-high/> in the <success/>, Bind 2 binds a new
// session, and the old one is left as it was: a later resumption with the
// right h gets its unacknowledged message.
func TestSASL2InlineResumeTooHigh(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	a, id := ts.loginSM(t, "alice") // the server's h: 1 (the presence)
	b.send("<message to='" + a.jid + "' type='chat'><body>one</body></message>")
	a.expect("message", "one")
	_ = a.conn.Close()
	ts.waitDetached(t, a.jid)

	c, f := ts.tlsFeatures(t)
	e := c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), "<resume xmlns='urn:xmpp:sm:3' previd='"+id+"' h='2'/>"+smBind)
	s := parseSMSuccess(t, e)
	if s.Failed == nil || s.Failed.H == nil || *s.Failed.H != "1" || s.Resumed != nil ||
		s.Failed.Inner != "<undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><handled-count-too-high xmlns='urn:xmpp:sm:3' h='2' send-count='1'/>" ||
		s.Bound == nil || s.Bound.Enabled == nil || !strings.HasPrefix(s.Identifier, alice.String()+"/sm/") || s.Identifier == a.jid {
		t.Fatalf("success: %s", e.Inner)
	}
	c.next() // features
	stillWorks(t, c)

	d, f := ts.tlsFeatures(t)
	s = parseSMSuccess(t, d.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), "<resume xmlns='urn:xmpp:sm:3' previd='"+id+"' h='0'/>"))
	if s.Resumed == nil || s.Resumed.H != "1" || s.Identifier != a.jid {
		t.Fatalf("resumption with the right h: %+v", s)
	}
	if e := d.next(); e.XMLName.Local != "message" || !strings.Contains(e.Inner, "one") {
		t.Fatalf("after the resumption: %+v", e)
	}
}

// TestBind2ClearsOffline: with archiving on, a Bind 2 login clears the
// account's offline messages that the archive holds without sending them
// (XEP-0386 §3.2: "as they will be provided by MAM"), and MAM has them;
// one the archive does not keep (no body) stays and comes at initial
// presence. With archiving off nothing is cleared.
func TestBind2ClearsOffline(t *testing.T) {
	const chatState = "<message to='alice@" + testDomain + "' type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>"
	bind := "<bind xmlns='urn:xmpp:bind:0'><tag>offline</tag></bind>"
	ts := startServer(t, nil)
	ts.user(t, "alice")
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	b.send("<message to='alice@" + testDomain + "' type='chat'><body>in the archive</body></message>")
	b.send(chatState)
	stillWorks(t, b)

	c, f := ts.tlsFeatures(t)
	s := parseSMSuccess(t, c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), bind))
	if s.Bound == nil || s.Bound.Metadata == nil || s.Bound.Metadata.End == nil {
		t.Fatalf("bound: %+v", s.Bound)
	}
	c.next() // features
	c.send("<presence/>")
	for {
		e := c.expect("message", "")
		if strings.Contains(e.Inner, "in the archive") {
			t.Fatalf("an archived offline message was sent: %+v", e)
		}
		if strings.Contains(e.Inner, "chatstates") {
			break
		}
	}
	c.send("<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2' queryid='all'/></iq>")
	c.expect("message", "in the archive")
	c.expect("iq", "fin")

	off := startServerHub(t, nil, func(h *crosstalk.HubConfig) { h.Archive = false })
	off.user(t, "alice")
	b = off.login(t, off.user(t, "bob"), "b1", true)
	b.send("<message to='alice@" + testDomain + "' type='chat'><body>no archive</body></message>")
	stillWorks(t, b)
	c, f = off.tlsFeatures(t)
	parseSMSuccess(t, c.auth2(sasl.ScramSha256, "alice", off.password, mechanisms(f), bind))
	c.next() // features
	c.send("<presence/>")
	c.expect("message", "no archive")
}
