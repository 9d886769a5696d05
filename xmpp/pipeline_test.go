package xmpp

import (
	"encoding/base64"
	"testing"
	"time"
)

// TestPipelinedLoginOneWrite: a client that sends its stream header and
// its SASL2 <authenticate/> (a FAST token's, with Bind 2) together gets
// the stream header, the features, the <success/> and the features after
// it in one write; a client that waits for the features gets them at
// once, with white space behind its header too (nothing waits for the
// client's next bytes); both log in.
func TestPipelinedLoginOneWrite(t *testing.T) {
	ts := startServer(t, nil)
	user := ts.user(t, "alice")
	const agent = "d4565fa7-4d72-4749-b3d3-740edbf87770"
	token := ts.requestToken(t, user.Local(), agent)
	ln := serveCountingWrites(t, ts)
	header := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + testDomain + "' version='1.0'>"
	authenticate := func() string {
		initial := append([]byte(user.Local()+"\x00"), htMAC(token, "Initiator")...)
		return "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>" +
			base64.StdEncoding.EncodeToString(initial) + "</initial-response><user-agent id='" + agent + "'/>" +
			"<bind xmlns='urn:xmpp:bind:0'><tag>pipe</tag></bind><fast xmlns='urn:xmpp:fast:0'/></authenticate>"
	}
	success := func(c *client) {
		t.Helper()
		if e := c.next(); e.XMLName.Local != "success" || parseSuccess2(t, e).Bound == nil {
			t.Fatalf("want a bound <success/>, got %+v", e)
		}
		if f := c.next(); f.XMLName.Local != "features" {
			t.Fatalf("after success: %+v", f)
		}
	}
	tlsClient := func() *client {
		c := dialRaw(t, ln.Addr().String())
		c.open()
		c.startTLS(ts.roots)
		return c
	}
	// settle waits until the server's writes stop (its handshake flight
	// is written before the client's handshake returns, but counted by
	// a goroutine of the server).
	settle := func() int64 {
		time.Sleep(50 * time.Millisecond)
		return ln.writes.Load()
	}

	c := tlsClient()
	before := settle()
	c.send(header + authenticate())
	c.readStreamHeader()
	if f := c.next(); f.XMLName.Local != "features" {
		t.Fatalf("features: %+v", f)
	}
	success(c)
	if n := settle() - before; n != 1 {
		t.Fatalf("pipelined login: %d writes for header, features, success and features, want 1", n)
	}
	c.send("</stream:stream>") // ended, so that the next login kicks nothing (a write)
	for c.next().XMLName.Local != "</stream>" {
	}

	// Waiting for the features, with white space after the header.
	c = tlsClient()
	before = settle()
	c.send(header + "\n ")
	c.readStreamHeader()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if f, err := c.tryNext(); err != nil || f.XMLName.Local != "features" {
		t.Fatalf("features for a client that waits: %+v, %v", f, err)
	}
	c.send(authenticate())
	success(c)
	if n := settle() - before; n != 2 {
		t.Fatalf("login in two steps: %d writes, want 2", n)
	}
}
