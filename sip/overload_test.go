package sip

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// TestOverload503 fills a server with MaxInFlight 2 by two INFOs that bob
// does not answer yet: the next request gets 503 with a Retry-After of 1
// to 3 seconds at once, without waiting, and once bob answers the server
// serves normally again.
func TestOverload503(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxInFlight = 2 }, "alice", "bob")
	b := newUA(t, "bob")
	wantStatus(t, b.register(e, 60), 200)
	waitFor(t, func() bool { return e.srv.Overload().InFlight == 0 }) // the REGISTER's hub work after its 200
	hold := make(chan struct{})
	b.hold.Store(&hold)
	c := newUA(t, "carol")

	type result struct {
		res *sipmsg.Response
		err error
	}
	held := make(chan result, 2)
	for range 2 {
		req := c.request(sipmsg.INFO, b.aor(), e.udp)
		req.From().Address.Host = "example.org" // from outside: no credentials needed
		go func() {
			res, err := c.client.Do(ctxT(t, 20*time.Second), req)
			held <- result{res, err}
		}()
	}
	for range 2 {
		select {
		case <-b.received:
		case <-time.After(5 * time.Second):
			t.Fatal("INFO not forwarded to bob")
		}
	}
	if n := e.srv.Overload().InFlight; n != 2 {
		t.Fatalf("in flight %d, want 2", n)
	}

	a := newUA(t, "alice")
	for _, method := range []sipmsg.RequestMethod{sipmsg.OPTIONS, sipmsg.REGISTER, sipmsg.MESSAGE} {
		req := a.request(method, sipmsg.Uri{Scheme: "sip", User: "bob", Host: "localhost"}, e.udp)
		if method == sipmsg.REGISTER {
			req.Recipient = sipmsg.Uri{Scheme: "sip", Host: "localhost"}
			req.AppendHeader(&sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()})
		}
		res, err := a.client.Do(ctxT(t, 5*time.Second), req)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, res, 503)
		h := res.GetHeader("Retry-After")
		if h == nil {
			t.Fatalf("%s: 503 without Retry-After", method)
		}
		if n, err := strconv.Atoi(h.Value()); err != nil || n < 1 || n > 3 {
			t.Fatalf("%s: Retry-After %q, want 1 to 3", method, h.Value())
		}
	}
	if refused := e.srv.Overload().Refused; refused != 3 {
		t.Fatalf("refused %d, want 3", refused)
	}

	close(hold)
	for range 2 {
		r := <-held
		if r.err != nil {
			t.Fatal(r.err)
		}
		wantStatus(t, r.res, 200)
	}
	waitFor(t, func() bool { return e.srv.Overload().InFlight == 0 })
	wantStatus(t, a.register(e, 60), 200)
	req := a.request(sipmsg.OPTIONS, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	res, err := a.client.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
}

// TestRequestSize checks that the counted size of a request is the length
// of its text, which decides whether startRequest keeps a copy for the
// move to TCP (RFC 3261 §18.1.1).
func TestRequestSize(t *testing.T) {
	for _, body := range []string{"", "hello", strings.Repeat("x", 1400)} {
		req := sipmsg.NewRequest(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: "bob", Host: "192.0.2.1", Port: 5060})
		req.AppendHeader(sipmsg.NewHeader("Subject", "size"))
		req.SetBody([]byte(body))
		if got, want := requestSize(req), len(req.String()); got != want {
			t.Fatalf("body %d bytes: size %d, want %d", len(body), got, want)
		}
	}
}
