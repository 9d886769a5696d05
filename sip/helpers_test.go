package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// testEnv is a running server on loopback over a real SQLite store.
type testEnv struct {
	t     testing.TB
	store crosstalk.Store
	hub   *crosstalk.Hub
	srv   *Server
	udp   string
	tcp   string
}

func newEnv(t testing.TB, tweak func(*Config), users ...string) *testEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir+"/sip.db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		addr := crosstalk.MustParseAddress(u + "@localhost")
		creds, err := crosstalk.NewCredentials(addr, u+"-password", crosstalk.MinSCRAMIterations)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAccount(ctx, crosstalk.Account{Address: addr, Credentials: creds, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	log := zerolog.New(newLogBuffer(t)).Level(zerolog.WarnLevel)
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"localhost"}, Archive: true}, st, log)
	return startEnv(t, st, hub, tweak)
}

func startEnv(t testing.TB, st crosstalk.Store, hub *crosstalk.Hub, tweak func(*Config)) *testEnv {
	t.Helper()
	// SendWindow 1: the test UA is built on sipgo, which hands each
	// request to its own goroutine, so MESSAGEs in flight together reach
	// the test in any order — the kind of UA the send-window policy
	// (design 006) leaves to a window of 1. TestSendWindowOrderAndFailure
	// checks the default's order with a UA that reads its socket in order.
	cfg := Config{Domains: []string{"localhost"}, UDP: "127.0.0.1:0", TCP: "127.0.0.1:0", MinExpires: time.Second, SweepInterval: 200 * time.Millisecond, DeliveryTimeout: 5 * time.Second, SendWindow: 1}
	if tweak != nil {
		tweak(&cfg)
	}
	level := zerolog.WarnLevel
	if os.Getenv("SIPTEST_DEBUG") != "" {
		level = zerolog.DebugLevel
	}
	log := zerolog.New(newLogBuffer(t)).Level(level)
	srv, err := New(cfg, hub, st, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, store: st, hub: hub, srv: srv, udp: srv.Addrs()["udp"], tcp: srv.Addrs()["tcp"]}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		cancel()
		_ = hub.Close(sctx)
		_ = st.Close()
	})
	return e
}

// storedBindings waits until the binding writer has written what is
// queued and returns what the store keeps for aor.
func (e *testEnv) storedBindings(aor crosstalk.Address) ([]crosstalk.Registration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.reg.w.sync(ctx); err != nil {
		return nil, err
	}
	return e.store.ListRegistrations(ctx, aor, time.Now())
}

// logBuffer keeps a test's server log and prints it if the test failed;
// unlike zerolog.TestWriter it stays safe for goroutines that log after the
// test has ended.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newLogBuffer(t testing.TB) *logBuffer {
	b := &logBuffer{}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if t.Failed() || os.Getenv("SIPTEST_DEBUG") != "" {
			t.Log(b.buf.String())
		}
	})
	return b
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 4<<20 {
		b.buf.Write(p)
	}
	return len(p), nil
}

// testUA is a sipgo user agent on loopback that records the requests it
// receives and answers them with status.
type testUA struct {
	t        testing.TB
	user     string
	ua       *sipgo.UserAgent
	client   *sipgo.Client
	port     int
	contact  sipmsg.Uri
	received chan *sipmsg.Request
	// wire lists the start lines of the requests that reached the UA's
	// socket, in arrival order (before sipgo's per-message goroutines).
	wire     chan string
	status   int
	ringOnly bool
	// inviteStatus, when set, is the final answer to every INVITE.
	inviteStatus int
	// ended is told when a ringing INVITE is cancelled.
	ended chan error
	// tp is the transport this UA sends requests to the server on; "" UDP.
	tp string
	// hold, when set, delays every answer to a request other than INVITE
	// and ACK until the channel is closed.
	hold atomic.Pointer[chan struct{}]
}

// server returns the server address for the UA's transport.
func (u *testUA) server(e *testEnv) string {
	if u.tp == "TCP" {
		return e.tcp
	}
	return e.udp
}

func newUA(t testing.TB, user string) *testUA {
	t.Helper()
	wire := make(chan string, 64)
	onWire := func(_ sipmsg.TransportReadProps, data []byte) ([]byte, error) {
		if line, _, ok := bytes.Cut(data, []byte("\r\n")); ok && !bytes.HasPrefix(line, []byte("SIP/")) {
			select {
			case wire <- string(line):
			default:
			}
		}
		return data, nil
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerReadFilter(onWire)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	u := &testUA{t: t, user: user, ua: ua, wire: wire, received: make(chan *sipmsg.Request, 64), status: 200, ended: make(chan error, 4)}
	handle := func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		u.received <- req
		switch {
		case req.IsAck():
		case req.IsInvite():
			if u.inviteStatus != 0 {
				_ = tx.Respond(sipmsg.NewResponseFromRequest(req, u.inviteStatus, "Busy Here", nil))
				return
			}
			if u.ringOnly {
				tx.OnCancel(func(*sipmsg.Request) { u.ended <- sipmsg.ErrTransactionCanceled })
			}
			ring := sipmsg.NewResponseFromRequest(req, 180, "Ringing", nil)
			_ = tx.Respond(ring)
			if u.ringOnly {
				<-tx.Done() // a CANCEL ends it with 487
				return
			}
			ok := sipmsg.NewResponseFromRequest(req, 200, "OK", []byte("v=0\r\n"))
			ok.To().Params = ring.To().Params
			ok.AppendHeader(&sipmsg.ContactHeader{Address: u.contact})
			_ = tx.Respond(ok)
		default:
			if h := u.hold.Load(); h != nil {
				<-*h
			}
			_ = tx.Respond(sipmsg.NewResponseFromRequest(req, u.status, "Done", nil))
		}
	}
	for _, m := range []sipmsg.RequestMethod{sipmsg.MESSAGE, sipmsg.OPTIONS, sipmsg.INVITE, sipmsg.ACK, sipmsg.BYE, sipmsg.INFO} {
		srv.OnRequest(m, handle)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeUDP(pc) }()
	u.port = pc.LocalAddr().(*net.UDPAddr).Port
	u.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(u.port))
	if err != nil {
		t.Fatal(err)
	}
	u.contact = sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: u.port}
	t.Cleanup(func() { _ = pc.Close(); _ = ua.Close() })
	return u
}

func (u *testUA) password() string { return u.user + "-password" }

func (u *testUA) aor() sipmsg.Uri { return sipmsg.Uri{Scheme: "sip", User: u.user, Host: "localhost"} }

// request builds a request from this UA to uri, sent to the server at dst.
func (u *testUA) request(method sipmsg.RequestMethod, uri sipmsg.Uri, dst string) *sipmsg.Request {
	req := sipmsg.NewRequest(method, uri)
	from := &sipmsg.FromHeader{Address: u.aor(), Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	to := sipmsg.Uri{Scheme: "sip", User: uri.User, Host: "localhost"}
	if method == sipmsg.REGISTER {
		to = u.aor()
	}
	req.AppendHeader(&sipmsg.ToHeader{Address: to, Params: sipmsg.NewParams()})
	req.SetDestination(dst)
	if u.tp != "" {
		req.SetTransport(u.tp)
	}
	return req
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// register registers u's contact with expires and returns the final response.
func (u *testUA) register(e *testEnv, expires int) *sipmsg.Response {
	u.t.Helper()
	req := u.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
	req.AppendHeader(&sipmsg.ContactHeader{Address: u.contact, Params: sipmsg.NewParams()})
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(expires)))
	return u.doAuth(req, u.password())
}

// doAuth sends req and answers one digest challenge with password.
func (u *testUA) doAuth(req *sipmsg.Request, password string) *sipmsg.Response {
	u.t.Helper()
	ctx := ctxT(u.t, 10*time.Second)
	res, err := u.client.Do(ctx, req)
	if err != nil {
		u.t.Fatalf("%s: %v", req.Method, err)
	}
	if res.StatusCode != 401 && res.StatusCode != 407 {
		return res
	}
	res, err = u.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: u.user, Password: password})
	if err != nil {
		u.t.Fatalf("%s with digest: %v", req.Method, err)
	}
	return res
}

func (u *testUA) expect(d time.Duration) *sipmsg.Request {
	u.t.Helper()
	select {
	case r := <-u.received:
		return r
	case <-time.After(d):
		u.t.Fatalf("%s received nothing in %s", u.user, d)
		return nil
	}
}

func (u *testUA) expectNothing(d time.Duration) {
	u.t.Helper()
	select {
	case r := <-u.received:
		u.t.Fatalf("%s received unexpected %s", u.user, r.StartLine())
	case <-time.After(d):
	}
}

func status(res *sipmsg.Response) string {
	return fmt.Sprintf("%d %s", res.StatusCode, res.Reason)
}

func wantStatus(t testing.TB, res *sipmsg.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("got %s, want %d\n%s", status(res), code, strings.TrimSpace(res.String()))
	}
}

func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, n
}
