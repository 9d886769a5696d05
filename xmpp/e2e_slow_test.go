package xmpp

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
)

// TestSlowConsumer checks that a client that stops reading is closed with
// <policy-violation/>, that what it never took goes to offline storage, and
// that the sender is unaffected.
func TestSlowConsumer(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.MailboxEvents = 16
		c.WriteTimeout = 500 * time.Millisecond
	})
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	victim := ts.login(t, alice, "stuck", true)
	sender := ts.login(t, bob, "fast", true)
	body := strings.Repeat("z", 8<<10)
	for i := range 3000 {
		sender.send("<message to='" + victim.jid + "' type='chat'><body>" + body + "</body></message>")
		if i%10 == 9 && len(ts.hub.Endpoints(alice)) == 0 {
			break
		}
	}
	if len(ts.hub.Endpoints(alice)) != 0 {
		t.Fatal("the stuck client was never disconnected")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := ts.store.CountOffline(t.Context(), alice)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing the stuck client missed reached offline storage")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stillWorks(t, sender)
	// The stuck client's buffers are full, so the <policy-violation/> the
	// server tries to send usually cannot reach it; the connection must be
	// closed all the same.
	_ = victim.conn.SetDeadline(time.Now().Add(20 * time.Second))
	for range 10000 {
		e, err := victim.tryNext()
		if err != nil {
			if isTimeout(err) {
				t.Fatal("the stuck client's connection was not closed")
			}
			return
		}
		if e.XMLName.Local == "</stream>" || e.XMLName.Local == "error" {
			return
		}
	}
	t.Fatal("the stuck client's connection was not closed")
}

// TestDirectTLS checks XEP-0368: TLS from the first byte, then SASL and
// bind without STARTTLS.
func TestDirectTLS(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	c := dialRaw(t, ts.tlsAddr)
	tc := tls.Client(c.conn, &tls.Config{ServerName: testDomain, RootCAs: ts.roots, NextProtos: []string{"xmpp-client"}})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "xmpp-client" {
		t.Fatalf("ALPN %q", p)
	}
	c.conn = tc
	f := c.open()
	if strings.Contains(f.Inner, "starttls") {
		t.Fatalf("STARTTLS offered inside TLS: %s", f.Inner)
	}
	if e := c.auth(sasl.ScramSha256Plus, alice.Local(), ts.password, mechanisms(f)); e.XMLName.Local != "success" {
		t.Fatalf("auth: %+v", e)
	}
}
