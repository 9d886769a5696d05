package sip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// BenchmarkPublishFanout1000 measures one PUBLISH fanned out to 1,000 SIP
// watchers (each its own account with a from subscription, all behind one
// UDP socket on loopback): ns/op is the time from sending the PUBLISH to
// the last of the 1,000 NOTIFYs received, NOTIFY/s the resulting rate. The
// rate limit is off, as it would hold back every NOTIFY after the first.
func BenchmarkPublishFanout1000(b *testing.B) {
	const watchers = 1000
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir()+"/bench.db", zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	alice := crosstalk.MustParseAddress("alice@localhost")
	users := []crosstalk.Address{alice}
	for i := range watchers {
		users = append(users, crosstalk.MustParseAddress(fmt.Sprintf("w%d@localhost", i)))
	}
	for _, u := range users {
		creds, err := crosstalk.NewCredentials(u, u.Local()+"-password", crosstalk.MinSCRAMIterations)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.CreateAccount(ctx, crosstalk.Account{Address: u, Credentials: creds, Created: time.Now()}); err != nil {
			b.Fatal(err)
		}
		if u == alice {
			continue
		}
		if _, err := st.PutRosterItem(ctx, alice, crosstalk.RosterItem{Contact: u, SubscriptionState: crosstalk.SubscriptionState{Subscription: crosstalk.SubscriptionFrom}}); err != nil {
			b.Fatal(err)
		}
	}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"localhost"}}, st, zerolog.Nop())
	defer hub.Close(ctx)
	cfg := Config{Domains: []string{"localhost"}, UDP: "127.0.0.1:0", TCP: "127.0.0.1:0", RequestsPerSecond: 1e6, RequestBurst: 1e6}
	cfg.Presence.MinNotifyInterval = -1
	srv, err := New(cfg, hub, st, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := srv.Start(sctx); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(ctx)
	server := srv.Addrs()["udp"]

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("bench"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		b.Fatal(err)
	}
	defer ua.Close()
	usrv, err := sipgo.NewServer(ua)
	if err != nil {
		b.Fatal(err)
	}
	var marker atomic.Value
	marker.Store("none")
	var got atomic.Int64
	all := make(chan struct{}, 1)
	usrv.OnRequest(sipmsg.NOTIFY, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
		if strings.Contains(string(req.Body()), marker.Load().(string)) && got.Add(1) == watchers {
			all <- struct{}{}
		}
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() { _ = usrv.ServeUDP(pc) }()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	if err != nil {
		b.Fatal(err)
	}
	contact := sipmsg.Uri{Scheme: "sip", User: "bench", Host: "127.0.0.1", Port: port}
	do := func(user string, req *sipmsg.Request) *sipmsg.Response {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		res, err := client.Do(rctx, req)
		if err == nil && res.StatusCode == 407 {
			res, err = client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: user, Password: user + "-password"})
		}
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	newReq := func(method sipmsg.RequestMethod, from, to string) *sipmsg.Request {
		req := sipmsg.NewRequest(method, sipmsg.Uri{Scheme: "sip", User: to, Host: "localhost"})
		f := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: from, Host: "localhost"}, Params: sipmsg.NewParams()}
		f.Params.Add("tag", sipmsg.GenerateTagN(8))
		req.AppendHeader(f)
		req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: to, Host: "localhost"}, Params: sipmsg.NewParams()})
		req.AppendHeader(&sipmsg.ContactHeader{Address: contact})
		req.AppendHeader(sipmsg.NewHeader("Event", "presence"))
		req.AppendHeader(sipmsg.NewHeader("Expires", "3600"))
		req.SetDestination(server)
		return req
	}
	for _, u := range users[1:] {
		if res := do(u.Local(), newReq(sipmsg.SUBSCRIBE, u.Local(), "alice")); res.StatusCode != 200 {
			b.Fatalf("SUBSCRIBE: %d", res.StatusCode)
		}
	}
	time.Sleep(2 * time.Second) // the initial NOTIFYs
	etag := ""
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		note := "note-" + strconv.Itoa(i)
		marker.Store(note)
		got.Store(0)
		req := newReq(sipmsg.PUBLISH, "alice", "alice")
		if etag != "" {
			req.AppendHeader(sipmsg.NewHeader("SIP-If-Match", etag))
		}
		ct := sipmsg.ContentTypeHeader("application/pidf+xml")
		req.AppendHeader(&ct)
		req.SetBody([]byte(pidf("alice", "open", "away", note)))
		res := do("alice", req)
		if res.StatusCode != 200 {
			b.Fatalf("PUBLISH: %d", res.StatusCode)
		}
		etag = res.GetHeader("SIP-ETag").Value()
		select {
		case <-all:
		case <-time.After(30 * time.Second):
			b.Fatalf("only %d of %d NOTIFYs in 30 s", got.Load(), watchers)
		}
	}
	b.ReportMetric(float64(watchers*b.N)/time.Since(start).Seconds(), "NOTIFY/s")
}
