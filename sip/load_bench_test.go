package sip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// The load benchmarks run a server over SQLite on loopback UDP and drive
// it with sipgo user agents in the same process, as cmd/ctload does from
// outside: ns/op is the time of one operation with benchUAs of them in
// flight, client work included (the comparison is between two versions
// of the server under the same client). Run them side by side:
//
//	go test -run XXX -bench 'Register|Message' -benchtime 3s -count 3 ./sip/

// benchUAs is how many user agents send at once.
const benchUAs = 16

// benchServer is a server with accounts u0…u(n-1) (password "secret").
func benchServer(b *testing.B, accounts int) string {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir()+"/bench.db", zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	for i := range accounts {
		u := crosstalk.MustParseAddress(fmt.Sprintf("u%d@localhost", i))
		creds, err := crosstalk.NewCredentials(u, "secret", crosstalk.MinSCRAMIterations)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.CreateAccount(ctx, crosstalk.Account{Address: u, Credentials: creds, Created: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"localhost"}}, st, zerolog.Nop())
	cfg := Config{Domains: []string{"localhost"}, UDP: "127.0.0.1:0", RequestsPerSecond: 1e6, RequestBurst: 1e6}
	srv, err := New(cfg, hub, st, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	if err := srv.Start(sctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sd, sdCancel := context.WithTimeout(ctx, 5*time.Second)
		defer sdCancel()
		_ = srv.Shutdown(sd)
		cancel()
		_ = hub.Close(sd)
	})
	return srv.Addrs()["udp"]
}

// benchUA is a user agent on its own UDP socket that answers MESSAGE 200.
type benchUA struct {
	client  *sipgo.Client
	contact sipmsg.Uri
	server  string
	user    string
	chal    *digest.Challenge
	nc      int
	got     atomic.Int64
}

func newBenchUA(b *testing.B, server, user string) *benchUA {
	b.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("bench"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		b.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		b.Fatal(err)
	}
	u := &benchUA{server: server, user: user}
	srv.OnMessage(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		u.got.Add(1)
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.ServeUDP(pc) }()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	u.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	if err != nil {
		b.Fatal(err)
	}
	u.contact = sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: port}
	b.Cleanup(func() { _ = pc.Close(); _ = ua.Close() })
	return u
}

func (u *benchUA) request(method sipmsg.RequestMethod, ruri sipmsg.Uri, to string) *sipmsg.Request {
	req := sipmsg.NewRequest(method, ruri)
	f := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: u.user, Host: "localhost"}, Params: sipmsg.NewParams()}
	f.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(f)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: to, Host: "localhost"}, Params: sipmsg.NewParams()})
	req.SetDestination(u.server)
	return req
}

// register does REGISTER, 401, REGISTER with digest, 200.
func (u *benchUA) register(ctx context.Context, expires int) error {
	req := u.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, u.user)
	req.AppendHeader(&sipmsg.ContactHeader{Address: u.contact, Params: sipmsg.NewParams()})
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(expires)))
	res, err := u.client.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = u.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: u.user, Password: "secret"})
	}
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("REGISTER: %d", res.StatusCode)
	}
	return nil
}

// message sends a MESSAGE to user to with credentials computed from the
// challenge of the first 407 and an increasing nonce count (as a phone
// answers pre-emptively), expecting 200 once the recipient has answered.
func (u *benchUA) message(ctx context.Context, to string) error {
	req := u.request(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: to, Host: "localhost"}, to)
	ct := sipmsg.ContentTypeHeader("text/plain")
	req.AppendHeader(&ct)
	req.SetBody([]byte("hello from the benchmark"))
	for range 2 {
		if u.chal != nil {
			u.nc++
			cred, err := digest.Digest(u.chal, digest.Options{Method: "MESSAGE", URI: req.Recipient.Addr(), Username: u.user, Password: "secret", Count: u.nc})
			if err != nil {
				return err
			}
			req.RemoveHeader("Proxy-Authorization")
			req.AppendHeader(sipmsg.NewHeader("Proxy-Authorization", cred.String()))
		}
		res, err := u.client.Do(ctx, req)
		if err != nil {
			return err
		}
		switch res.StatusCode {
		case 200:
			return nil
		case 407:
			h := res.GetHeader("Proxy-Authenticate")
			if h == nil {
				return fmt.Errorf("407 without challenge")
			}
			if u.chal, err = digest.ParseChallenge(h.Value()); err != nil {
				return err
			}
			u.nc = 0
			req.RemoveHeader("Via")
			req.CSeq().SeqNo++
		default:
			return fmt.Errorf("MESSAGE: %d", res.StatusCode)
		}
	}
	return fmt.Errorf("MESSAGE: challenged twice")
}

// runParallel runs op b.N times over benchUAs workers.
func runParallel(b *testing.B, op func(ctx context.Context, w int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchUAs)
	b.ResetTimer()
	start := time.Now()
	for w := range benchUAs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := op(ctx, w)
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// BenchmarkRegister is the digest REGISTER exchange (REGISTER, 401,
// REGISTER with credentials, 200) by benchUAs phones of their own
// accounts; after the first, each refreshes its binding.
func BenchmarkRegister(b *testing.B) {
	server := benchServer(b, benchUAs)
	uas := make([]*benchUA, benchUAs)
	for w := range uas {
		uas[w] = newBenchUA(b, server, fmt.Sprintf("u%d", w))
	}
	runParallel(b, func(ctx context.Context, w int) error { return uas[w].register(ctx, 300) })
}

// BenchmarkMessage is a relayed MESSAGE (RFC 3428): benchUAs senders, each
// to its own registered recipient, pre-emptive digest credentials; an
// operation ends with the 200 the recipient's UA gave through the server.
func BenchmarkMessage(b *testing.B) {
	server := benchServer(b, 2*benchUAs)
	senders := make([]*benchUA, benchUAs)
	ctx := context.Background()
	for w := range senders {
		senders[w] = newBenchUA(b, server, fmt.Sprintf("u%d", w))
		rcpt := newBenchUA(b, server, fmt.Sprintf("u%d", benchUAs+w))
		if err := rcpt.register(ctx, 300); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the bindings become available after their 200
	runParallel(b, func(ctx context.Context, w int) error {
		return senders[w].message(ctx, fmt.Sprintf("u%d", benchUAs+w))
	})
}
