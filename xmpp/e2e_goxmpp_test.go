package xmpp

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	goxmpp "github.com/xmppo/go-xmpp"

	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// TestGoXMPPSASL2 logs in with an independently written client,
// github.com/xmppo/go-xmpp, which uses XEP-0388 SASL2 and XEP-0386 Bind 2
// when the server offers them (checking the SCRAM server signature), over
// direct TLS, and exchanges messages with a classic client.
func TestGoXMPPSASL2(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	bob := ts.login(t, ts.user(t, "bob"), "desk", true)
	for _, mech := range []string{"", "SCRAM-SHA-1-PLUS", "PLAIN"} {
		t.Run("mech="+mech, func(t *testing.T) {
			c, err := goxmpp.Options{
				Host:        ts.tlsAddr,
				User:        alice.String(),
				Password:    ts.password,
				TLSConfig:   &tls.Config{ServerName: testDomain, RootCAs: ts.roots},
				Mechanism:   mech,
				UserAgentSW: "goxmpp-interop",
				UserAgentID: testUserAgent,
				DialTimeout: 5 * time.Second,
			}.NewClient()
			if err != nil {
				t.Fatalf("go-xmpp login: %v", err)
			}
			defer func() { _ = c.Close() }()
			want := mech
			if want == "" {
				want = "SCRAM-SHA-256-PLUS" // its first choice of what we offer
			}
			if want != "PLAIN" && c.Mechanism != want {
				t.Fatalf("mechanism %q, want %q", c.Mechanism, want)
			}
			// Bind 2: the tag go-xmpp sends is its software name.
			if !strings.HasPrefix(c.JID(), alice.String()+"/goxmpp-interop/") {
				t.Fatalf("bound %q: not a Bind 2 resource", c.JID())
			}
			if _, _, err := c.Send(goxmpp.Chat{Remote: bob.jid, Type: "chat", Text: "hello from go-xmpp " + mech}); err != nil {
				t.Fatal(err)
			}
			bob.expect("message", "hello from go-xmpp "+mech)
			bob.send("<message to='" + xmppmap.Escape(c.JID()) + "' type='chat' id='r1'><body>hello go-xmpp " + mech + "</body></message>")
			got := make(chan string, 1)
			go func() {
				for {
					st, err := c.Recv()
					if err != nil {
						got <- "error: " + err.Error()
						return
					}
					if m, ok := st.(goxmpp.Chat); ok && m.Text != "" {
						got <- m.Remote + ": " + m.Text
						return
					}
				}
			}()
			select {
			case s := <-got:
				if s != bob.jid+": hello go-xmpp "+mech {
					t.Fatalf("go-xmpp received %q", s)
				}
			case <-time.After(opTimeout):
				t.Fatal("go-xmpp received nothing")
			}
		})
	}
}
