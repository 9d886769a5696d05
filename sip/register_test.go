package sip

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
)

func TestRegisterSHA256(t *testing.T) {
	e := newEnv(t, nil, "alice")
	a := newUA(t, "alice")
	req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	req.AppendHeader(&sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()})
	res, err := a.client.Do(ctxT(t, 5*time.Second), req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 401)
	chals := res.GetHeaders("WWW-Authenticate")
	if len(chals) != 2 || !strings.Contains(chals[0].Value(), "SHA-256") || !strings.Contains(chals[1].Value(), "MD5") || !strings.Contains(chals[0].Value(), `qop="auth"`) {
		t.Fatalf("challenges: %v", chals)
	}
	res = a.doAuth(req, a.password())
	wantStatus(t, res, 200)
	if c := res.Contact(); c == nil || c.Address.Port != a.port {
		t.Fatalf("200 lists %v", c)
	}
	regs, err := e.storedBindings(crosstalk.MustParseAddress("alice@localhost"))
	if err != nil || len(regs) != 1 {
		t.Fatalf("stored %v, %v", regs, err)
	}
	waitFor(t, func() bool { return len(e.hub.Endpoints(crosstalk.MustParseAddress("alice@localhost"))) == 1 })
}

// authorize adds an Authorization for the challenge of algorithm alg in res.
func authorize(t *testing.T, req *sipmsg.Request, res *sipmsg.Response, alg, user, password string, nc int) {
	t.Helper()
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatal(err)
		}
		if chal.Algorithm != alg {
			continue
		}
		cred, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: req.Recipient.Addr(), Username: user, Password: password, Count: nc})
		if err != nil {
			t.Fatal(err)
		}
		req.RemoveHeader("Authorization")
		req.AppendHeader(sipmsg.NewHeader("Authorization", cred.String()))
		req.CSeq().SeqNo++
		req.RemoveHeader("Via")
		return
	}
	t.Fatalf("no %s challenge in %s", alg, res.String())
}

func TestRegisterMD5StaleReplayWrongPassword(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.NonceTTL = 300 * time.Millisecond }, "alice")
	a := newUA(t, "alice")
	req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	req.AppendHeader(&sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()})
	do := func() *sipmsg.Response {
		var opts []sipgo.ClientRequestOption
		if req.CallID() != nil {
			opts = append(opts, sipgo.ClientRequestAddVia)
		}
		res, err := a.client.Do(ctxT(t, 5*time.Second), req, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := do()
	wantStatus(t, first, 401)

	authorize(t, req, first, "MD5", "alice", "alice-password", 1)
	wantStatus(t, do(), 200)

	// The same nonce-count again is a replay.
	req.CSeq().SeqNo++
	req.RemoveHeader("Via")
	replay := do()
	wantStatus(t, replay, 401)

	// nc=2 on the first nonce is fine…
	authorize(t, req, first, "MD5", "alice", "alice-password", 2)
	wantStatus(t, do(), 200)

	// …until the nonce expires: stale=true.
	time.Sleep(400 * time.Millisecond)
	authorize(t, req, first, "MD5", "alice", "alice-password", 3)
	stale := do()
	wantStatus(t, stale, 401)
	if !strings.Contains(stale.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("no stale=true: %s", stale.String())
	}

	// A wrong password is challenged again, without stale.
	authorize(t, req, stale, "SHA-256", "alice", "wrong", 1)
	wrong := do()
	wantStatus(t, wrong, 401)
	if strings.Contains(wrong.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatal("wrong password answered stale=true")
	}
}

func TestRegisterLockout(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginFailuresPerMinute = 3 }, "alice")
	a := newUA(t, "alice")
	for i := 0; i < 3; i++ {
		req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
		req.AppendHeader(&sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()})
		wantStatus(t, a.doAuth(req, "wrong"), 401)
	}
	req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	req.AppendHeader(&sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()})
	res := a.doAuth(req, a.password())
	wantStatus(t, res, 403)
	if res.GetHeader("Retry-After") == nil {
		t.Fatal("no Retry-After on lock-out")
	}
}

func TestRegisterBindings(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MinExpires = 30 * time.Second }, "alice")
	a := newUA(t, "alice")
	aor := crosstalk.MustParseAddress("alice@localhost")

	// 423 below Min-Expires.
	res := a.register(e, 5)
	wantStatus(t, res, 423)
	if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "30" {
		t.Fatalf("Min-Expires %v", h)
	}

	// Two contacts in one REGISTER, with q-values.
	req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	c1 := &sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()}
	c1.Params.Add("q", "0.5")
	other := a.contact
	other.Port++
	c2 := &sipmsg.ContactHeader{Address: other, Params: sipmsg.NewParams()}
	c2.Params.Add("expires", "60")
	req.AppendHeader(c1)
	req.AppendHeader(c2)
	res = a.doAuth(req, a.password())
	wantStatus(t, res, 200)
	if n := len(res.GetHeaders("Contact")); n != 2 {
		t.Fatalf("200 lists %d contacts", n)
	}
	waitFor(t, func() bool { return len(e.hub.Endpoints(aor)) == 2 })

	// Contact: * with Expires: 0 removes all.
	req = a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Wildcard: true}})
	req.AppendHeader(sipmsg.NewHeader("Expires", "0"))
	wantStatus(t, a.doAuth(req, a.password()), 200)
	waitFor(t, func() bool { return len(e.hub.Endpoints(aor)) == 0 })
	regs, _ := e.storedBindings(aor)
	if len(regs) != 0 {
		t.Fatalf("store keeps %v", regs)
	}
}

func TestRegisterExpiresAndReload(t *testing.T) {
	e := newEnv(t, nil, "alice")
	a := newUA(t, "alice")
	aor := crosstalk.MustParseAddress("alice@localhost")
	wantStatus(t, a.register(e, 1), 200)
	waitFor(t, func() bool { return len(e.hub.Endpoints(aor)) == 1 })
	waitFor(t, func() bool { return len(e.hub.Endpoints(aor)) == 0 })

	// A binding kept in the store comes back on a new server.
	wantStatus(t, a.register(e, 60), 200)
	sctx := ctxT(t, 5*time.Second)
	if err := e.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"localhost"}}, e.store, zerolog.Nop())
	e2 := startEnv(t, e.store, hub, nil)
	waitFor(t, func() bool { return len(e2.hub.Endpoints(aor)) == 1 })
}

func TestRegisterOutOfOrderAndForeignAOR(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a := newUA(t, "alice")
	req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	req.AppendHeader(&sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()})
	wantStatus(t, a.doAuth(req, a.password()), 200)
	// Same Call-ID, lower CSeq: refused.
	req.CSeq().SeqNo -= 5
	req.RemoveHeader("Via")
	req.RemoveHeader("Authorization")
	wantStatus(t, a.doAuth(req, a.password()), 400)

	// alice's credentials cannot register bob.
	b := newUA(t, "bob")
	req = b.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	req.AppendHeader(&sipmsg.ContactHeader{Address: b.contact, Params: sipmsg.NewParams()})
	b.user = "alice"
	wantStatus(t, b.doAuth(req, "alice-password"), 403)
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegisterPathAndOutbound(t *testing.T) {
	e := newEnv(t, nil, "alice")
	a := newUA(t, "alice")
	req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	c := &sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()}
	c.Params.Add("+sip.instance", `"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"`)
	c.Params.Add("reg-id", "1")
	req.AppendHeader(c)
	req.AppendHeader(sipmsg.NewHeader("Supported", "path, outbound"))
	req.AppendHeader(sipmsg.NewHeader("Path", "<sip:edge.example.net;lr>"))
	res := a.doAuth(req, a.password())
	wantStatus(t, res, 200)
	if h := res.GetHeader("Path"); h == nil || h.Value() != "<sip:edge.example.net;lr>" {
		t.Fatalf("Path not echoed: %s", res.String())
	}
	if h := res.GetHeader("Require"); h == nil || h.Value() != "outbound" {
		t.Fatalf("no Require: outbound: %s", res.String())
	}
	regs, err := e.storedBindings(crosstalk.MustParseAddress("alice@localhost"))
	if err != nil || len(regs) != 1 {
		t.Fatalf("stored %v, %v", regs, err)
	}
	r := regs[0]
	if r.InstanceID != "urn:uuid:00000000-0000-1000-8000-000A95A0E128" || r.RegID != 1 || len(r.Path) != 1 || r.Path[0] != "<sip:edge.example.net;lr>" {
		t.Fatalf("stored %+v", r)
	}
	// The same instance and reg-id from another contact replaces the binding.
	req = a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	c2 := c.Clone()
	c2.Address.Port++
	req.AppendHeader(c2)
	wantStatus(t, a.doAuth(req, a.password()), 200)
	regs, _ = e.storedBindings(crosstalk.MustParseAddress("alice@localhost"))
	if len(regs) != 1 || regs[0].Contact != c2.Address.String() {
		t.Fatalf("after re-registration %+v", regs)
	}
	// An unsupported Require is refused with 420.
	req = a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	req.AppendHeader(c.Clone())
	req.AppendHeader(sipmsg.NewHeader("Require", "gruu, foo"))
	res = a.doAuth(req, a.password())
	wantStatus(t, res, 420)
	if h := res.GetHeader("Unsupported"); h == nil || !strings.Contains(h.Value(), "foo") {
		t.Fatalf("Unsupported %v", h)
	}
}

func TestCRLFKeepAliveTCP(t *testing.T) {
	e := newEnv(t, nil)
	conn, err := net.DialTimeout("tcp", e.tcp, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "\r\n" {
		t.Fatalf("pong %q, %v (RFC 5626 §3.5.1)", buf[:n], err)
	}
}

// TestBindingClosedByHub: when the hub ends a binding (slow consumer,
// account gone), the registrar forgets it, and the next REGISTER binds
// afresh instead of refreshing a binding the hub no longer has.
func TestBindingClosedByHub(t *testing.T) {
	e := newEnv(t, nil, "bob")
	b := newUA(t, "bob")
	bob := crosstalk.MustParseAddress("bob@localhost")
	wantStatus(t, b.register(e, 60), 200)
	waitFor(t, func() bool { return len(e.hub.Endpoints(bob)) == 1 })
	e.hub.Disconnect(context.Background(), bob, crosstalk.ErrSlowConsumer)
	waitFor(t, func() bool {
		regs, _ := e.store.ListRegistrations(context.Background(), bob, time.Now())
		return len(e.hub.Endpoints(bob)) == 0 && len(regs) == 0
	})
	wantStatus(t, b.register(e, 60), 200)
	waitFor(t, func() bool { return len(e.hub.PresenceOf(bob)) == 1 })
}

func TestRegisterTooManyBindings(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBindingsPerAOR = 2 }, "alice")
	a := newUA(t, "alice")
	req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	for i := 0; i < 3; i++ {
		u := a.contact
		u.Port += i
		req.AppendHeader(&sipmsg.ContactHeader{Address: u, Params: sipmsg.NewParams()})
	}
	wantStatus(t, a.doAuth(req, a.password()), 403)
	wantStatus(t, a.register(e, 60), 200)
}

// TestOutboundFlowClosed: an outbound binding (reg-id) registered over TCP
// is removed when its connection closes (RFC 5626).
func TestOutboundFlowClosed(t *testing.T) {
	e := newEnv(t, nil, "alice")
	conn, err := net.DialTimeout("tcp", e.tcp, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	alice := crosstalk.MustParseAddress("alice@localhost")
	local := conn.LocalAddr().String()
	register := func(auth string, cseq int) string {
		msg := "REGISTER sip:localhost SIP/2.0\r\n" +
			"Via: SIP/2.0/TCP " + local + ";branch=z9hG4bK-flow" + fmt.Sprint(cseq) + "\r\n" +
			"From: <sip:alice@localhost>;tag=f1\r\nTo: <sip:alice@localhost>\r\nCall-ID: flow-test\r\n" +
			"CSeq: " + fmt.Sprint(cseq) + " REGISTER\r\nMax-Forwards: 70\r\nSupported: outbound, path\r\n" +
			"Contact: <sip:alice@" + local + ";transport=tcp>;reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-0000000000aa>\"\r\n" +
			auth + "Content-Length: 0\r\n\r\n"
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	res := register("", 1)
	if !strings.HasPrefix(res, "SIP/2.0 401") {
		t.Fatalf("got %q", res)
	}
	var chal string
	for _, line := range strings.Split(res, "\r\n") {
		if strings.HasPrefix(line, "WWW-Authenticate: ") && strings.Contains(line, "SHA-256") {
			chal = strings.TrimPrefix(line, "WWW-Authenticate: ")
		}
	}
	c, err := digest.ParseChallenge(chal)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(c, digest.Options{Method: "REGISTER", URI: "sip:localhost", Username: "alice", Password: "alice-password"})
	if err != nil {
		t.Fatal(err)
	}
	if res := register("Authorization: "+cred.String()+"\r\n", 2); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("got %q", res)
	}
	waitFor(t, func() bool { return len(e.hub.Endpoints(alice)) == 1 })
	conn.Close()
	waitFor(t, func() bool {
		regs, _ := e.store.ListRegistrations(context.Background(), alice, time.Now())
		return len(regs) == 0 && len(e.hub.Endpoints(alice)) == 0
	})
}

// TestRegisterQueryAndRemoveOne: a REGISTER without Contact lists the
// bindings (RFC 3261 §10.2.3); expires=0 on one contact removes only it.
func TestRegisterQueryAndRemoveOne(t *testing.T) {
	e := newEnv(t, nil, "alice")
	a := newUA(t, "alice")
	req := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	other := a.contact
	other.Port++
	req.AppendHeader(&sipmsg.ContactHeader{Address: a.contact, Params: sipmsg.NewParams()})
	req.AppendHeader(&sipmsg.ContactHeader{Address: other, Params: sipmsg.NewParams()})
	wantStatus(t, a.doAuth(req, a.password()), 200)

	query := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	res := a.doAuth(query, a.password())
	wantStatus(t, res, 200)
	if n := len(res.GetHeaders("Contact")); n != 2 {
		t.Fatalf("query lists %d contacts", n)
	}

	remove := a.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	c := &sipmsg.ContactHeader{Address: other, Params: sipmsg.NewParams()}
	c.Params.Add("expires", "0")
	remove.AppendHeader(c)
	res = a.doAuth(remove, a.password())
	wantStatus(t, res, 200)
	if cs := res.GetHeaders("Contact"); len(cs) != 1 || cs[0].(*sipmsg.ContactHeader).Address.Port != a.contact.Port {
		t.Fatalf("after removal: %s", res.String())
	}
	alice := crosstalk.MustParseAddress("alice@localhost")
	waitFor(t, func() bool { return len(e.hub.Endpoints(alice)) == 1 })
}

// TestActivateClosedBinding: a binding is bound to the hub after its 200,
// so the UA's next REGISTER can remove it before or while it is bound. One
// closed by then must not stay bound (TestRegisterQueryAndRemoveOne saw a
// removed Contact stay a hub endpoint under load when its writer's Unbind
// came before the Bind).
func TestActivateClosedBinding(t *testing.T) {
	e := newEnv(t, nil, "alice")
	alice := crosstalk.MustParseAddress("alice@localhost")
	reg := crosstalk.Registration{AOR: alice, Resource: "sip-closed", Contact: "sip:alice@127.0.0.1:5999",
		Expires: time.Now().Add(time.Hour)}
	b, err := e.srv.reg.add(reg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.reg.remove(context.Background(), b) // the next REGISTER removed it
	<-b.exited                                // its writer unbound it already (a no-op: not bound yet)
	e.srv.reg.activate(context.Background(), b)
	if eps := e.hub.Endpoints(alice); len(eps) != 0 {
		t.Fatalf("a removed binding is still bound: %v", eps)
	}

	// One still open when activated is bound, and its removal unbinds it.
	reg.Resource = "sip-racing"
	b2, err := e.srv.reg.add(reg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.reg.activate(context.Background(), b2)
	if eps := e.hub.Endpoints(alice); len(eps) != 1 {
		t.Fatalf("an activated binding is not bound: %v", eps)
	}
	e.srv.reg.remove(context.Background(), b2)
	waitFor(t, func() bool { return len(e.hub.Endpoints(alice)) == 0 })
}

// TestClosedBindingNotLive: a binding the hub has closed, still in the
// registrar's map because its writer has not yet forgotten it, is neither
// found for a refresh nor listed, and a new binding with its key replaces
// it without the old writer's forget taking the new one out.
func TestClosedBindingNotLive(t *testing.T) {
	e := newEnv(t, nil, "bob")
	r := e.srv.reg
	bob := crosstalk.MustParseAddress("bob@localhost")
	reg := crosstalk.Registration{AOR: bob, Contact: "sip:bob@127.0.0.1:5999", Resource: "phone", Expires: time.Now().Add(time.Hour)}
	addr, err := bob.WithResource("phone")
	if err != nil {
		t.Fatal(err)
	}
	old := newBinding(e.srv, addr, reg) // no writer: it stays in the map until forgotten
	r.mu.Lock()
	r.bindings[bob] = map[string]*binding{reg.Key(): old}
	r.mu.Unlock()
	if r.get(bob, reg.Key()) != old || len(r.list(bob)) != 1 {
		t.Fatal("live binding not found")
	}
	old.Close(crosstalk.ErrSlowConsumer)
	if b := r.get(bob, reg.Key()); b != nil {
		t.Errorf("closed binding found for a refresh: %p", b)
	}
	if l := r.list(bob); len(l) != 0 {
		t.Errorf("closed binding listed: %d", len(l))
	}
	fresh, err := r.add(reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fresh.Close(crosstalk.ErrShuttingDown) })
	r.forget(context.Background(), old) // the old writer's exit
	if r.get(bob, reg.Key()) != fresh {
		t.Error("the old binding's forget took the new one out")
	}
}
