package xmpp

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"mellium.im/sasl"
)

// startWebSocket serves the server's WebSocket and host-meta handlers on
// a loopback HTTPS server and returns its wss:// URL.
func startWebSocket(t *testing.T, ts *testServer) (string, *tls.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.Handle("GET "+WebSocketPath, ts.srv.WebSocket(ctx))
	hs := httptest.NewTLSServer(mux)
	t.Cleanup(func() { cancel(); hs.Close() })
	return "wss://" + hs.Listener.Addr().String() + WebSocketPath, hs.Client().Transport.(*http.Transport).TLSClientConfig
}

// wsClient is a raw RFC 7395 test client: one element per message.
type wsClient struct {
	t    *testing.T
	conn net.Conn
	rw   io.ReadWriter
}

func dialWS(t *testing.T, url string, tc *tls.Config) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	d := ws.Dialer{Protocols: []string{"xmpp"}, TLSConfig: tc}
	conn, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if hs.Protocol != "xmpp" {
		t.Fatalf("subprotocol %q", hs.Protocol)
	}
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	_ = conn.SetDeadline(time.Now().Add(opTimeout))
	return &wsClient{t: t, conn: conn, rw: struct {
		io.Reader
		io.Writer
	}{r, conn}}
}

func (c *wsClient) send(s string) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.conn, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next reads one message as an element; a closed WebSocket gives an
// element named "</ws>".
func (c *wsClient) next() el {
	c.t.Helper()
	msg, op, err := wsutil.ReadServerData(c.rw)
	if err != nil {
		return el{XMLName: xml.Name{Local: "</ws>"}}
	}
	if op != ws.OpText {
		c.t.Fatalf("opcode %v", op)
	}
	var e el
	if err := xml.Unmarshal(msg, &e); err != nil {
		c.t.Fatalf("message %q is not one element: %v", msg, err)
	}
	return e
}

// expect reads messages until one named local containing contains.
func (c *wsClient) expect(local, contains string) el {
	c.t.Helper()
	for range 50 {
		e := c.next()
		if e.XMLName.Local == local && strings.Contains(e.Inner+xmlAttrs(e), contains) {
			return e
		}
		if e.XMLName.Local == "</ws>" {
			c.t.Fatalf("websocket closed while waiting for <%s/> with %q", local, contains)
		}
	}
	c.t.Fatalf("no <%s/> with %q", local, contains)
	return el{}
}

func xmlAttrs(e el) string {
	var b strings.Builder
	for _, a := range e.Attrs {
		b.WriteString(a.Name.Local + "=" + a.Value + " ")
	}
	return b.String()
}

// open opens (or restarts) the stream and returns the features.
func (c *wsClient) open() el {
	c.t.Helper()
	c.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="` + testDomain + `" version="1.0"/>`)
	o := c.next()
	if o.XMLName.Space != nsFraming || o.XMLName.Local != "open" || o.attr("from") != testDomain || o.attr("version") != "1.0" || o.attr("id") == "" {
		c.t.Fatalf("open: %+v", o)
	}
	f := c.next()
	if f.XMLName.Space != nsStream || f.XMLName.Local != "features" {
		c.t.Fatalf("features: %+v", f)
	}
	return f
}

// auth runs SCRAM-SHA-256 without channel binding.
func (c *wsClient) auth(user, password string, mechs []string) el {
	c.t.Helper()
	return c.authWith(sasl.ScramSha256, user, password, mechs)
}

// authWith runs a SASL mechanism, with the TLS state for -PLUS ones.
func (c *wsClient) authWith(mech sasl.Mechanism, user, password string, mechs []string) el {
	c.t.Helper()
	opts := []sasl.Option{sasl.RemoteMechanisms(mechs...),
		sasl.Credentials(func() ([]byte, []byte, []byte) { return []byte(user), []byte(password), nil })}
	if tc, ok := c.conn.(*tls.Conn); ok && strings.HasSuffix(mech.Name, "-PLUS") {
		opts = append(opts, sasl.TLSState(tc.ConnectionState()))
	}
	neg := sasl.NewClient(mech, opts...)
	_, resp, err := neg.Step(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send("<auth xmlns='" + nsSASL + "' mechanism='" + mech.Name + "'>" + base64.StdEncoding.EncodeToString(resp) + "</auth>")
	for range 4 {
		e := c.next()
		data, _ := base64.StdEncoding.DecodeString(e.Inner)
		switch e.XMLName.Local {
		case "challenge":
			_, resp, err := neg.Step(data)
			if err != nil {
				c.t.Fatalf("sasl step: %v", err)
			}
			c.send("<response xmlns='" + nsSASL + "'>" + base64.StdEncoding.EncodeToString(resp) + "</response>")
		case "success":
			if _, _, err := neg.Step(data); err != nil {
				c.t.Fatalf("server signature: %v", err)
			}
			return e
		default:
			return e
		}
	}
	c.t.Fatal("sasl did not finish")
	return el{}
}

// streamError reads until the stream error and the <close/> after it and
// returns the condition.
func (c *wsClient) streamError() string {
	c.t.Helper()
	e := c.expect("error", "")
	if e.XMLName.Space != nsStream {
		c.t.Fatalf("stream error: %+v", e)
	}
	if cl := c.next(); cl.XMLName.Local != "close" || cl.XMLName.Space != nsFraming {
		c.t.Fatalf("after the stream error: %+v", cl)
	}
	i := strings.Index(e.Inner, "<")
	j := strings.IndexAny(e.Inner[i+1:], " />")
	return e.Inner[i+1 : i+1+j]
}

func TestWebSocketSession(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	url, tc := startWebSocket(t, ts)
	bobTCP := ts.login(t, bob, "tcp", true)

	c := dialWS(t, url, tc)
	f := c.open()
	if strings.Contains(f.Inner, "starttls") {
		t.Fatalf("STARTTLS offered over WebSocket: %s", f.Inner)
	}
	mechs := mechanisms(f)
	if !contains(mechs, "SCRAM-SHA-256") || !contains(mechs, "SCRAM-SHA-256-PLUS") || !contains(mechs, "PLAIN") {
		t.Fatalf("mechanisms over a TLS 1.3 WebSocket: %v", mechs)
	}
	if e := c.auth(alice.Local(), ts.password, mechs); e.XMLName.Local != "success" {
		t.Fatalf("auth: %+v", e)
	}
	if f := c.open(); !strings.Contains(f.Inner, nsBind) {
		t.Fatalf("no bind after restart: %s", f.Inner)
	}
	c.send("<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='" + nsBind + "'><resource>web</resource></bind></iq>")
	if e := c.expect("iq", "b1"); e.XMLName.Space != nsClient || !strings.Contains(e.Inner, alice.String()+"/web") {
		t.Fatalf("bind: %+v", e)
	}
	c.send("<presence xmlns='jabber:client'/>")

	c.send("<message xmlns='jabber:client' to='" + bobTCP.jid + "' type='chat' id='m1'><body>over websocket</body></message>")
	if m := bobTCP.expect("message", "over websocket"); !strings.HasPrefix(m.attr("from"), alice.String()+"/web") {
		t.Fatalf("from: %+v", m)
	}
	bobTCP.send("<message to='" + alice.String() + "/web' type='chat' id='m2'><body>back over tcp</body></message>")
	if m := c.expect("message", "back over tcp"); m.XMLName.Space != nsClient || m.attr("from") != bobTCP.jid {
		t.Fatalf("reply: %+v", m)
	}

	c.send(`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`)
	if e := c.expect("close", ""); e.XMLName.Space != nsFraming {
		t.Fatalf("close: %+v", e)
	}
	if e := c.next(); e.XMLName.Local != "</ws>" {
		t.Fatalf("after close: %+v", e)
	}
	stillWorks(t, bobTCP)
}

func TestWebSocketLimits(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.StanzaSize = 16 << 10; c.MailboxBytes = 16 << 10 })
	url, tc := startWebSocket(t, ts)

	t.Run("oversized frame", func(t *testing.T) {
		c := dialWS(t, url, tc)
		c.open()
		big := "<message><body>" + strings.Repeat("x", 20<<10) + "</body></message>"
		// The server refuses the frame from its header and may close
		// before the payload is written: the write may fail.
		go func() { _ = wsutil.WriteClientText(c.conn, []byte(big)) }()
		if cond := c.streamError(); cond != condPolicyViolation {
			t.Fatalf("condition %q", cond)
		}
	})
	t.Run("length overflow", func(t *testing.T) {
		c := dialWS(t, url, tc)
		c.open()
		_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpText, false, []byte("<a>"))))
		_ = ws.WriteHeader(c.conn, ws.Header{OpCode: ws.OpContinuation, Fin: true, Masked: true, Length: math.MaxInt64 - 1})
		if cond := c.streamError(); cond != condPolicyViolation {
			t.Fatalf("condition %q", cond)
		}
	})
	t.Run("two elements in one frame", func(t *testing.T) {
		c := dialWS(t, url, tc)
		c.open()
		c.send("<presence/><presence/>")
		if cond := c.streamError(); cond != condNotWellFormed {
			t.Fatalf("condition %q", cond)
		}
	})
	t.Run("half an element", func(t *testing.T) {
		c := dialWS(t, url, tc)
		c.open()
		c.send("<message><body>")
		if cond := c.streamError(); cond != condNotWellFormed {
			t.Fatalf("condition %q", cond)
		}
	})
	t.Run("too deep", func(t *testing.T) {
		c := dialWS(t, url, tc)
		c.open()
		c.send("<message>" + strings.Repeat("<x>", 40) + strings.Repeat("</x>", 40) + "</message>")
		if cond := c.streamError(); cond != condPolicyViolation {
			t.Fatalf("condition %q", cond)
		}
	})
	t.Run("comment", func(t *testing.T) {
		c := dialWS(t, url, tc)
		c.open()
		c.send("<message><!-- x --></message>")
		if cond := c.streamError(); cond != condRestrictedXML {
			t.Fatalf("condition %q", cond)
		}
	})
	t.Run("ping frame", func(t *testing.T) {
		c := dialWS(t, url, tc)
		if err := wsutil.WriteClientMessage(c.conn, ws.OpPing, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		f, err := ws.ReadFrame(c.rw)
		if err != nil || f.Header.OpCode != ws.OpPong || string(f.Payload) != "hi" {
			t.Fatalf("pong: %+v %v", f.Header, err)
		}
		c.open()
	})
	t.Run("fragmented", func(t *testing.T) {
		c := dialWS(t, url, tc)
		open := `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="` + testDomain + `" version="1.0"/>`
		for _, f := range []ws.Frame{
			ws.NewFrame(ws.OpText, false, []byte(open[:10])),
			ws.NewPingFrame([]byte("between")), // control frames may come between fragments
			ws.NewFrame(ws.OpContinuation, false, []byte(open[10:30])),
			ws.NewFrame(ws.OpContinuation, true, []byte(open[30:])),
		} {
			if err := ws.WriteFrame(c.conn, ws.MaskFrame(f)); err != nil {
				t.Fatal(err)
			}
		}
		if e := c.next(); e.XMLName.Local != "open" {
			t.Fatalf("open: %+v", e)
		}
		if e := c.next(); e.XMLName.Local != "features" {
			t.Fatalf("features: %+v", e)
		}
	})
	t.Run("close during negotiation", func(t *testing.T) {
		c := dialWS(t, url, tc)
		c.open()
		c.send(`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`)
		if e := c.next(); e.XMLName.Local != "close" || e.XMLName.Space != nsFraming {
			t.Fatalf("close: %+v", e)
		}
		if e := c.next(); e.XMLName.Local != "</ws>" {
			t.Fatalf("after close: %+v", e)
		}
	})
	t.Run("unknown domain", func(t *testing.T) {
		c := dialWS(t, url, tc)
		c.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="elsewhere.test" version="1.0"/>`)
		if o := c.next(); o.XMLName.Local != "open" {
			t.Fatalf("open: %+v", o)
		}
		if cond := c.streamError(); cond != condHostUnknown {
			t.Fatalf("condition %q", cond)
		}
	})
	t.Run("no subprotocol", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		_, _, _, err := ws.Dialer{TLSConfig: tc}.Dial(ctx, url)
		if err == nil || !strings.Contains(err.Error(), "400") {
			t.Fatalf("upgrade without xmpp: %v", err)
		}
	})
}

func TestHostMeta(t *testing.T) {
	ts := startServer(t, nil)
	h := ts.srv.HostMeta()
	for _, tc := range []struct{ host, want string }{
		{testDomain, "wss://" + testDomain + WebSocketPath},
		{testDomain + ":5443", "wss://" + testDomain + ":5443" + WebSocketPath},
		{"evil.test<'>", "wss://" + testDomain + WebSocketPath},
	} {
		req := httptest.NewRequest(http.MethodGet, "https://x/.well-known/host-meta", nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var xrd struct {
			XMLName xml.Name
			Links   []struct {
				Rel  string `xml:"rel,attr"`
				Href string `xml:"href,attr"`
			} `xml:"Link"`
		}
		if err := xml.NewDecoder(bufio.NewReader(rec.Body)).Decode(&xrd); err != nil {
			t.Fatal(err)
		}
		if xrd.XMLName.Space != "http://docs.oasis-open.org/ns/xri/xrd-1.0" || len(xrd.Links) != 1 ||
			xrd.Links[0].Rel != relWebSocket || xrd.Links[0].Href != tc.want ||
			rec.Header().Get("Content-Type") != "application/xrd+xml" || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%s: %+v %v", tc.host, xrd, rec.Header())
		}

		req = httptest.NewRequest(http.MethodGet, "https://x/.well-known/host-meta.json", nil)
		req.Host = tc.host
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var jrd struct {
			Links []struct{ Rel, Href string } `json:"links"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &jrd); err != nil {
			t.Fatal(err)
		}
		if len(jrd.Links) != 1 || jrd.Links[0].Rel != relWebSocket || jrd.Links[0].Href != tc.want {
			t.Fatalf("%s json: %+v", tc.host, jrd)
		}
	}
}

func TestWebSocketConnectionsPerIP(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.ConnectionsPerIP = 1 })
	url, tc := startWebSocket(t, ts)
	first := dialWS(t, url, tc)
	first.open()
	second := dialWS(t, url, tc)
	if o := second.next(); o.XMLName.Local != "open" || o.XMLName.Space != nsFraming {
		t.Fatalf("open: %+v", o)
	}
	if cond := second.streamError(); cond != condPolicyViolation {
		t.Fatalf("condition %q", cond)
	}
	first.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	if e := first.next(); e.XMLName.Local == "</ws>" {
		t.Fatal("first connection closed")
	}
}

// TestWebSocketResumeOverTCP checks that a session begun over WebSocket is
// the same hub endpoint as a TCP one: XEP-0198 resumes it over TCP.
func TestWebSocketResumeOverTCP(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	url, tc := startWebSocket(t, ts)
	b := ts.login(t, bob, "b1", true)
	a := dialWS(t, url, tc)
	f := a.open()
	if e := a.auth(alice.Local(), ts.password, mechanisms(f)); e.XMLName.Local != "success" {
		t.Fatalf("auth: %+v", e)
	}
	a.open()
	a.send("<iq type='set' id='b1'><bind xmlns='" + nsBind + "'><resource>web</resource></bind></iq>")
	a.expect("iq", "b1")
	a.send("<presence/>")
	a.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	id := a.expect("enabled", "").attr("id")
	b.send("<message to='" + alice.String() + "/web' type='chat'><body>one</body></message>")
	a.expect("message", "one")
	_ = a.conn.Close() // no <close/>: the session waits for resumption
	stillWorks(t, b)
	b.send("<message to='" + alice.String() + "/web' type='chat'><body>two</body></message>")

	c := ts.reauth(t, alice)
	c.send("<resume xmlns='urn:xmpp:sm:3' h='1' previd='" + id + "'/>")
	if e := c.expect("resumed", ""); e.attr("previd") != id {
		t.Fatalf("resumed: %+v", e)
	}
	c.expect("message", "two")
}

// TestWebSocketChannelBinding checks SCRAM-SHA-256-PLUS over WebSocket:
// tls-exporter from the HTTPS request's TLS state (TLS 1.3).
func TestWebSocketChannelBinding(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	url, tc := startWebSocket(t, ts)
	c := dialWS(t, url, tc)
	if _, ok := c.conn.(*tls.Conn); !ok {
		t.Fatalf("dialer returned %T", c.conn)
	}
	f := c.open()
	if !strings.Contains(f.Inner, "tls-exporter") || strings.Contains(f.Inner, "tls-server-end-point") {
		t.Fatalf("channel-binding types: %s", f.Inner)
	}
	if e := c.authWith(sasl.ScramSha256Plus, alice.Local(), ts.password, mechanisms(f)); e.XMLName.Local != "success" {
		t.Fatalf("auth: %+v", e)
	}
}

// TestTCPResumeOverWebSocket is the reverse: a TCP session resumed over
// WebSocket.
func TestTCPResumeOverWebSocket(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	url, tc := startWebSocket(t, ts)
	b := ts.login(t, bob, "b1", true)
	a := ts.login(t, alice, "a1", true)
	a.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	id := a.expect("enabled", "").attr("id")
	_ = a.conn.Close()
	stillWorks(t, b)
	b.send("<message to='" + a.jid + "' type='chat'><body>while away</body></message>")

	c := dialWS(t, url, tc)
	f := c.open()
	if e := c.auth(alice.Local(), ts.password, mechanisms(f)); e.XMLName.Local != "success" {
		t.Fatalf("auth: %+v", e)
	}
	c.open()
	c.send("<resume xmlns='urn:xmpp:sm:3' h='0' previd='" + id + "'/>")
	if e := c.expect("resumed", ""); e.attr("previd") != id {
		t.Fatalf("resumed: %+v", e)
	}
	if m := c.expect("message", "while away"); m.XMLName.Space != nsClient {
		t.Fatalf("message: %+v", m)
	}
}

// TestWebSocketTimeouts checks that deadlines reach the WebSocket: the
// authentication timeout and, once bound, the idle timeout each end the
// stream with <connection-timeout/> and <close/>.
func TestWebSocketTimeouts(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.AuthTimeout = 300 * time.Millisecond })
	url, tc := startWebSocket(t, ts)
	c := dialWS(t, url, tc)
	c.open()
	if cond := c.streamError(); cond != condConnectionTimeout {
		t.Fatalf("auth timeout: %q", cond)
	}

	ts = startServer(t, func(c *Config) { c.IdleTimeout = 400 * time.Millisecond })
	alice := ts.user(t, "alice")
	url, tc = startWebSocket(t, ts)
	c = dialWS(t, url, tc)
	f := c.open()
	if e := c.auth(alice.Local(), ts.password, mechanisms(f)); e.XMLName.Local != "success" {
		t.Fatalf("auth: %+v", e)
	}
	c.open()
	c.send("<iq type='set' id='b1'><bind xmlns='" + nsBind + "'/></iq>")
	c.expect("iq", "b1")
	if cond := c.streamError(); cond != condConnectionTimeout { // the keepalive ping goes unanswered
		t.Fatalf("idle timeout: %q", cond)
	}
}

// TestWebSocketIdleCost logs what an idle bound WebSocket session costs
// (server and test client together) and checks that it runs on two
// goroutines, as a TCP session does: the HTTP connection's goroutine is
// the reader, plus the writer.
func TestWebSocketIdleCost(t *testing.T) {
	const n = 50
	ts := startServer(t, func(c *Config) { c.ConnectionsPerIP = n + 10 })
	alice := ts.user(t, "alice")
	url, tc := startWebSocket(t, ts)
	settle := func() (uint64, int) {
		time.Sleep(2 * writerLinger) // the writers of the last logins end
		var m runtime.MemStats
		for range 3 {
			runtime.GC()
		}
		runtime.ReadMemStats(&m)
		return m.HeapInuse, runtime.NumGoroutine()
	}
	login := func(i int) *wsClient {
		c := dialWS(t, url, tc)
		f := c.open()
		if e := c.auth(alice.Local(), ts.password, mechanisms(f)); e.XMLName.Local != "success" {
			t.Fatalf("auth: %+v", e)
		}
		c.open()
		c.send("<iq type='set' id='b'><bind xmlns='" + nsBind + "'><resource>w" + strconv.Itoa(i) + "</resource></bind></iq>")
		c.expect("iq", "jid")
		return c
	}
	login(-1) // warm up the handler, TLS and store caches
	heap0, g0 := settle()
	for i := range n {
		login(i)
	}
	heap1, g1 := settle()
	goroutines := float64(g1-g0) / n
	t.Logf("%d idle WebSocket sessions: %.1f KiB heap and %.2f goroutines each", n, float64(heap1-heap0)/n/1024, goroutines)
	if goroutines > 1.1 {
		t.Errorf("%.2f goroutines per idle session, want 1 (the parked reader; no writer while idle)", goroutines)
	}
}
