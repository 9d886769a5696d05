package sip

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// invite sends an INVITE from u to user through the proxy, answering the
// digest challenge, and returns the client transaction.
func (u *testUA) invite(e *testEnv, user string) (*sipmsg.Request, sipmsg.ClientTransaction) {
	u.t.Helper()
	req := u.request(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: user, Host: "localhost"}, u.server(e))
	req.AppendHeader(&sipmsg.ContactHeader{Address: u.contact})
	ct := sipmsg.ContentTypeHeader("application/sdp")
	req.AppendHeader(&ct)
	req.SetBody([]byte("v=0\r\n"))
	ctx := ctxT(u.t, 10*time.Second)
	res, err := u.client.Do(ctx, req)
	if err != nil {
		u.t.Fatal(err)
	}
	wantStatus(u.t, res, 407)
	// ACK for the 407 is sent by the client transaction.
	tx, err := u.client.TransactionDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: u.user, Password: u.password()})
	if err != nil {
		u.t.Fatal(err)
	}
	u.t.Cleanup(tx.Terminate)
	return req, tx
}

// next returns the next response of a client transaction.
func next(t *testing.T, tx sipmsg.ClientTransaction) *sipmsg.Response {
	t.Helper()
	select {
	case res := <-tx.Responses():
		return res
	case <-tx.Done():
		t.Fatalf("transaction ended: %v", tx.Err())
	case <-time.After(10 * time.Second):
		t.Fatal("no response in 10s")
	}
	return nil
}

// inDialog builds an ACK or BYE for the dialog the 200 established, routed
// through the proxy by the Record-Route set.
func (u *testUA) inDialog(e *testEnv, method sipmsg.RequestMethod, inv *sipmsg.Request, ok *sipmsg.Response, cseq uint32) *sipmsg.Request {
	req := sipmsg.NewRequest(method, ok.Contact().Address)
	rrs := ok.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- { // the UAC's route set is the reverse (RFC 3261 §12.1.2)
		r := rrs[i].(*sipmsg.RecordRouteHeader)
		req.AppendHeader(&sipmsg.RouteHeader{Address: r.Address})
	}
	req.AppendHeader(sipmsg.HeaderClone(inv.From()))
	req.AppendHeader(sipmsg.HeaderClone(ok.To()))
	req.AppendHeader(sipmsg.HeaderClone(inv.CallID()))
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetDestination(u.server(e))
	if u.tp != "" {
		req.SetTransport(u.tp)
	}
	return req
}

func TestProxyCall(t *testing.T) {
	t.Run("udp", func(t *testing.T) { testProxyCall(t, "") })
	// A TCP caller and a UDP callee: two Record-Routes (RFC 5658).
	t.Run("tcp-to-udp", func(t *testing.T) { testProxyCall(t, "TCP") })
}

func testProxyCall(t *testing.T, callerTransport string) {
	e := newEnv(t, nil, "alice", "bob")
	a, b := newUA(t, "alice"), newUA(t, "bob")
	a.tp = callerTransport
	wantStatus(t, b.register(e, 60), 200)
	waitFor(t, func() bool { return len(e.hub.Endpoints(crosstalk.MustParseAddress("bob@localhost"))) == 1 })

	inv, tx := a.invite(e, "bob")
	if got := b.expect(5 * time.Second); !got.IsInvite() || got.GetHeader("Record-Route") == nil {
		t.Fatalf("bob got %s", got.String())
	}
	var ok *sipmsg.Response
	for ok == nil {
		res := next(t, tx)
		switch {
		case res.StatusCode == 100 || res.StatusCode == 180:
		case res.StatusCode == 200:
			ok = res
		default:
			t.Fatalf("unexpected %s", status(res))
		}
	}
	if n, want := len(ok.GetHeaders("Record-Route")), map[string]int{"": 1, "TCP": 2}[callerTransport]; n != want {
		t.Fatalf("200 with %d Record-Routes, want %d: %s", n, want, ok.String())
	}
	// The ACK and, right behind it, the BYE (as baresip hangs up at
	// once): the callee must see them in that order (ackorder.go).
	ack := a.inDialog(e, sipmsg.ACK, inv, ok, inv.CSeq().SeqNo)
	bye := a.inDialog(e, sipmsg.BYE, inv, ok, inv.CSeq().SeqNo+1)
	drainWire(b)
	if err := a.client.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}
	res, err := a.client.Do(ctxT(t, 5*time.Second), bye)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	for _, want := range []string{"ACK ", "BYE "} {
		select {
		case line := <-b.wire:
			if !strings.HasPrefix(line, want) {
				t.Fatalf("bob's socket got %q, want %s first", line, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("bob's socket got no %s", want)
		}
	}
	for range 2 {
		b.expect(5 * time.Second)
	}
}

// drainWire forgets what reached u's socket so far.
func drainWire(u *testUA) {
	for {
		select {
		case <-u.wire:
		default:
			return
		}
	}
}

func TestProxyForkAndCancel(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a := newUA(t, "alice")
	b1, b2 := newUA(t, "bob"), newUA(t, "bob")
	b1.ringOnly, b2.ringOnly = true, true
	wantStatus(t, b1.register(e, 60), 200)
	wantStatus(t, b2.register(e, 60), 200)
	waitFor(t, func() bool { return len(e.hub.Endpoints(crosstalk.MustParseAddress("bob@localhost"))) == 2 })

	inv, tx := a.invite(e, "bob")
	b1.expect(5 * time.Second)
	b2.expect(5 * time.Second)
	for res := next(t, tx); res.StatusCode != 180; res = next(t, tx) {
	}
	cancel := sipmsg.NewRequest(sipmsg.CANCEL, inv.Recipient)
	cancel.AppendHeader(sipmsg.HeaderClone(inv.Via()))
	cancel.AppendHeader(sipmsg.HeaderClone(inv.From()))
	cancel.AppendHeader(sipmsg.HeaderClone(inv.To()))
	cancel.AppendHeader(sipmsg.HeaderClone(inv.CallID()))
	cancel.AppendHeader(&sipmsg.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sipmsg.CANCEL})
	mf := sipmsg.MaxForwardsHeader(70)
	cancel.AppendHeader(&mf)
	cancel.SetDestination(e.udp)
	res, err := a.client.Do(ctxT(t, 5*time.Second), cancel, sipgo.ClientRequestBuild)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	for res := next(t, tx); ; res = next(t, tx) {
		if res.StatusCode >= 200 {
			wantStatus(t, res, 487)
			break
		}
	}
	// Both branches were cancelled: each bob UA's INVITE transaction ended
	// by a CANCEL.
	for i, b := range []*testUA{b1, b2} {
		select {
		case err := <-b.ended:
			if !errors.Is(err, sipmsg.ErrTransactionCanceled) {
				t.Errorf("bob %d: INVITE ended with %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("bob %d: INVITE not cancelled", i)
		}
	}
}

func TestProxyRefusals(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a := newUA(t, "alice")
	// Registered nowhere: 480.
	_, tx := a.invite(e, "bob")
	for res := next(t, tx); ; res = next(t, tx) {
		if res.StatusCode >= 200 {
			wantStatus(t, res, 480)
			break
		}
	}
	// Max-Forwards 0: 483.
	req := a.request(sipmsg.INFO, sipmsg.Uri{Scheme: "sip", User: "bob", Host: "localhost"}, e.udp)
	mf := sipmsg.MaxForwardsHeader(0)
	req.AppendHeader(&mf)
	res, err := a.client.Do(ctxT(t, 5*time.Second), req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 483)
	// OPTIONS for the server itself.
	req = a.request(sipmsg.OPTIONS, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	res, err = a.client.Do(ctxT(t, 5*time.Second), req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	if res.GetHeader("Allow") == nil {
		t.Fatal("OPTIONS without Allow")
	}
	// An unknown method: 501.
	req = a.request("FOO", sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	res, err = a.client.Do(ctxT(t, 5*time.Second), req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 501)
}

// TestProxyPreloadedRoute: an initial request that names us in a preloaded
// Route (we are its outbound proxy) is still authenticated and
// record-routed.
func TestProxyPreloadedRoute(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a, b := newUA(t, "alice"), newUA(t, "bob")
	wantStatus(t, b.register(e, 60), 200)
	waitFor(t, func() bool { return len(e.hub.Endpoints(crosstalk.MustParseAddress("bob@localhost"))) == 1 })
	req := a.request(sipmsg.INFO, sipmsg.Uri{Scheme: "sip", User: "bob", Host: "localhost"}, e.udp)
	host, port := splitHostPort(t, e.udp)
	route := sipmsg.Uri{Scheme: "sip", Host: host, Port: port, UriParams: sipmsg.HeaderParams{{K: "lr", V: ""}}}
	req.AppendHeader(&sipmsg.RouteHeader{Address: route})
	res, err := a.client.Do(ctxT(t, 5*time.Second), req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 407)
}

// TestProxyForgedRouteSet: an in-dialog-looking request with our Route but
// no valid token cannot reach another domain.
func TestProxyForgedRouteSet(t *testing.T) {
	e := newEnv(t, nil, "alice")
	a := newUA(t, "alice")
	req := a.request(sipmsg.BYE, sipmsg.Uri{Scheme: "sip", User: "victim", Host: "203.0.113.9"}, e.udp)
	req.From().Address.Host = "example.org"
	req.To().Params.Add("tag", "x")
	host, port := splitHostPort(t, e.udp)
	req.AppendHeader(&sipmsg.RouteHeader{Address: sipmsg.Uri{Scheme: "sip", Host: host, Port: port, UriParams: sipmsg.HeaderParams{{K: "lr", V: ""}}}})
	res, err := a.client.Do(ctxT(t, 5*time.Second), req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 403)
}

// TestProxyLoop: a request carrying our Via with its own loop hash has been
// here before unchanged: 482 (RFC 3261 §16.3 step 4).
func TestProxyLoop(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a := newUA(t, "alice")
	req := a.request(sipmsg.INFO, sipmsg.Uri{Scheme: "sip", User: "bob", Host: "localhost"}, e.udp)
	req.From().Address.Host = "example.org" // from outside: no credentials needed
	cid := sipmsg.CallIDHeader("loop-test")
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.INFO})
	mf := sipmsg.MaxForwardsHeader(69)
	req.AppendHeader(&mf)
	host, port := splitHostPort(t, e.udp)
	ours := &sipmsg.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: host, Port: port, Params: sipmsg.NewParams()}
	ours.Params.Add("branch", branchPrefix+loopHash(req)+".x")
	req.AppendHeader(ours)
	res, err := a.client.Do(ctxT(t, 5*time.Second), req, sipgo.ClientRequestAddVia)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 482)
}

// TestProxySequentialByQ: bob's q=1.0 contact is busy (486); only then is
// the q=0.5 contact tried, and it answers (RFC 3261 §16.6).
func TestProxySequentialByQ(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a, high, low := newUA(t, "alice"), newUA(t, "bob"), newUA(t, "bob")
	high.inviteStatus = 486
	for _, u := range []struct {
		ua *testUA
		q  string
	}{{high, "1.0"}, {low, "0.5"}} {
		req := u.ua.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
		c := &sipmsg.ContactHeader{Address: u.ua.contact, Params: sipmsg.NewParams()}
		c.Params.Add("q", u.q)
		req.AppendHeader(c)
		wantStatus(t, u.ua.doAuth(req, u.ua.password()), 200)
	}
	waitFor(t, func() bool { return len(e.hub.Endpoints(crosstalk.MustParseAddress("bob@localhost"))) == 2 })
	_, tx := a.invite(e, "bob")
	high.expect(5 * time.Second)
	var final *sipmsg.Response
	for final == nil {
		if res := next(t, tx); res.StatusCode >= 200 {
			final = res
		}
	}
	wantStatus(t, final, 200)
	if got := low.expect(5 * time.Second); !got.IsInvite() {
		t.Fatalf("low-q contact got %s", got.StartLine())
	}
}
