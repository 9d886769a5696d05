package xmpp

import (
	"encoding/xml"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
)

// streamError reads until the stream closes and returns the stream error
// condition sent before it ("" if none).
func (c *client) streamError() string {
	c.t.Helper()
	for range 50 {
		e, err := c.tryNext()
		if err != nil {
			return ""
		}
		if e.XMLName.Local == "error" && e.XMLName.Space == "http://etherx.jabber.org/streams" {
			i := strings.Index(e.Inner, "<")
			j := strings.IndexAny(e.Inner[i+1:], " />")
			return e.Inner[i+1 : i+1+j]
		}
		if e.XMLName.Local == "</stream>" {
			return ""
		}
	}
	return ""
}

// header skips the server's stream header.
func (c *client) header() {
	c.t.Helper()
	for range 4 {
		tok, err := c.dec.Token()
		if err != nil {
			c.t.Fatalf("header: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			return
		}
	}
	c.t.Fatal("no stream header")
}

// stillWorks checks that an unrelated session still answers a ping.
func stillWorks(t testing.TB, c *client) {
	t.Helper()
	c.send("<iq type='get' id='alive'><ping xmlns='urn:xmpp:ping'/></iq>")
	if e := c.expect("iq", "alive"); e.attr("type") != "result" {
		t.Fatalf("bystander broken: %+v", e)
	}
}

func TestStreamLimits(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.StanzaSize = 16 << 10; c.MailboxBytes = 16 << 10 })
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	bystander := ts.login(t, bob, "calm", true)
	for _, tc := range []struct {
		name, input, want string
	}{
		{"stanza size", "<message to='bob@example.test'><body>" + strings.Repeat("x", 40<<10) + "</body></message>", "policy-violation"},
		{"depth", strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40), "policy-violation"},
		{"attributes", "<message" + func() string {
			var b strings.Builder
			for i := range 100 {
				b.WriteString(" a" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "='1'")
			}
			return b.String()
		}() + "/>", "policy-violation"},
		{"comment", "<message><!-- hidden --></message>", "restricted-xml"},
		{"processing instruction", "<?evil x?><message/>", "restricted-xml"},
		{"doctype", "<!DOCTYPE x [<!ENTITY a 'b'>]><message/>", "restricted-xml"},
		{"not well-formed", "<message></presence>", "not-well-formed"},
		{"wrong namespace", "<foo xmlns='urn:x'/>", "unsupported-stanza-type"},
	} {
		c := ts.login(t, alice, "bad", false)
		_, _ = c.conn.Write([]byte(tc.input)) // the server may close before it has read everything
		if got := c.streamError(); got != tc.want {
			t.Errorf("%s: stream error %q, want %q", tc.name, got, tc.want)
		}
		stillWorks(t, bystander)
	}
}

func TestNegotiationLimits(t *testing.T) {
	ts := startServer(t, nil)
	bob := ts.user(t, "bob")
	bystander := ts.login(t, bob, "calm", true)

	c := dialRaw(t, ts.addr)
	c.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='elsewhere.test' version='1.0'>")
	c.header()
	if got := c.streamError(); got != "host-unknown" {
		t.Errorf("unknown host: %q", got)
	}
	c = dialRaw(t, ts.addr)
	c.open()
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGJvYgB4</auth>")
	if got := c.streamError(); got != "policy-violation" {
		t.Errorf("auth before TLS: %q", got)
	}
	c = dialRaw(t, ts.addr)
	c.open()
	c.send("<message to='bob@example.test'><body>spam</body></message>")
	if got := c.streamError(); got != "not-authorized" {
		t.Errorf("stanza before auth: %q", got)
	}
	stillWorks(t, bystander)
}

func TestLoginRateLimit(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.LoginFailuresPerMinute = 3 })
	ts.user(t, "alice")
	bob := ts.user(t, "bob")
	bystander := ts.login(t, bob, "calm", true)
	var failures []string
	for range 2 {
		c := dialRaw(t, ts.addr)
		c.open()
		c.startTLS(ts.roots)
		f := c.open()
		for range 3 {
			e := c.auth(sasl.ScramSha256, "alice", "wrong", mechanisms(f))
			if e.XMLName.Local != "failure" {
				t.Fatalf("wrong password accepted: %+v", e)
			}
			failures = append(failures, e.Inner)
		}
		if got := c.streamError(); got != "policy-violation" {
			t.Errorf("after 3 failures: %q", got)
		}
	}
	if !strings.Contains(failures[0], "not-authorized") || !strings.Contains(failures[len(failures)-1], "temporary-auth-failure") {
		t.Fatalf("failures: %q", failures)
	}
	// The right password is refused too while the address is limited.
	c := dialRaw(t, ts.addr)
	c.open()
	c.startTLS(ts.roots)
	f := c.open()
	if e := c.auth(sasl.ScramSha256, "alice", ts.password, mechanisms(f)); !strings.Contains(e.Inner, "temporary-auth-failure") {
		t.Fatalf("limited login: %+v", e)
	}
	stillWorks(t, bystander)
}

func TestConnectionsPerIP(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.ConnectionsPerIP = 2 })
	bob := ts.user(t, "bob")
	bystander := ts.login(t, bob, "calm", true)
	c2 := dialRaw(t, ts.addr)
	c2.open()
	c3 := dialRaw(t, ts.addr)
	c3.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>")
	c3.header()
	if got := c3.streamError(); got != "policy-violation" {
		t.Fatalf("third connection: %q", got)
	}
	stillWorks(t, bystander)
}

func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.IdleTimeout = 2 * time.Second })
	alice := ts.user(t, "alice")
	c := ts.login(t, alice, "sleepy", false)
	// A silent client is pinged first (XEP-0199); one that answers stays.
	for range 2 {
		ping := c.expect("iq", "urn:xmpp:ping")
		c.send("<iq type='result' id='" + ping.attr("id") + "' to='example.test'/>")
	}
	stillWorks(t, c)
	// One that does not answer is closed.
	if got := c.streamError(); got != "connection-timeout" {
		t.Fatalf("idle: %q", got)
	}
}

// TestStreamErrorLingers sends a stanza far over the size limit in one
// write, as a client uploading a large element would, and checks that the
// client reads the stream error and then a clean end of the connection
// (FIN), not a TCP reset: after the error the server reads and drops what
// the client still sends before it closes (closeLingering), so the rest of
// the client's write is accepted too.
func TestStreamErrorLingers(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.StanzaSize = 10000; c.RequireTLS = false })
	conn, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	header := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + testDomain + "' version='1.0'>"
	big := "<iq type='get' id='big'><query xmlns='jabber:iq:version'>" + strings.Repeat("x", 200_000) + "</query></iq>"
	writeErr := make(chan error, 1)
	go func() {
		_, err := conn.Write([]byte(header + big))
		writeErr <- err
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read %q, then %v: want the stream error, then a clean end", got, err)
	}
	if !strings.Contains(string(got), "<policy-violation") || !strings.HasSuffix(string(got), "</stream:stream>") {
		t.Fatalf("server sent %q", got)
	}
	if err := <-writeErr; err != nil {
		t.Errorf("the client's write failed: %v", err)
	}
}
