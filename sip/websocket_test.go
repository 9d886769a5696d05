package sip

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// TestWebSocket registers over secure WebSocket through an HTTPS server
// (RFC 7118) and receives a MESSAGE on that flow; plain HTTPS requests
// still reach the next handler.
func TestWebSocket(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.WebSocket = true }, "alice", "bob")
	https := httptest.NewTLSServer(e.srv.WebSocket(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("api"))
	})))
	t.Cleanup(https.Close)
	addr := strings.TrimPrefix(https.URL, "https://")

	res, err := https.Client().Get(https.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("alice.invalid"), sipgo.WithUserAgenTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *sipmsg.Request, 4)
	srv.OnMessage(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		got <- req
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	})
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("alice.invalid"))
	if err != nil {
		t.Fatal(err)
	}
	a := &testUA{t: t, user: "alice", client: client,
		contact: sipmsg.Uri{Scheme: "sip", User: "alice", Host: "alice.invalid", UriParams: sipmsg.HeaderParams{{K: "transport", V: "ws"}}}}
	req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, addr)
	req.SetTransport("WSS")
	req.AppendHeader(&sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()})
	wantStatus(t, a.doAuth(req, "alice-password"), 200)
	alice := crosstalk.MustParseAddress("alice@localhost")
	waitFor(t, func() bool { return len(e.hub.PresenceOf(alice)) == 1 })

	b := newUA(t, "bob")
	wantStatus(t, b.sendMessage(e, "alice", "text/plain", "over websocket"), 200)
	select {
	case m := <-got:
		if string(m.Body()) != "over websocket" {
			t.Fatalf("alice got %q", m.Body())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no MESSAGE over the WebSocket flow")
	}
}
