package xmpp

import (
	"context"
	"crypto/tls"
	"net"
	"runtime"
	"testing"
	"time"

	"mellium.im/sasl"
	mxmpp "mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/ping"
)

// dialMellium negotiates a session with mellium's own client stack:
// STARTTLS, SASL with the given mechanism, resource binding.
func dialMellium(t *testing.T, ts *testServer, user, resource string, mech sasl.Mechanism) *mxmpp.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	origin := jid.MustParse(user + "@" + testDomain + "/" + resource)
	s, err := mxmpp.NewClientSession(ctx, origin, conn,
		mxmpp.StartTLS(&tls.Config{ServerName: testDomain, RootCAs: ts.roots}),
		mxmpp.SASL("", ts.password, mech),
		mxmpp.BindResource())
	if err != nil {
		t.Fatalf("mellium negotiation with %s: %v", mech.Name, err)
	}
	t.Cleanup(func() { _ = s.Close(); _ = conn.Close() })
	return s
}

// TestMelliumClient drives the server with mellium's client stack, a Go
// XMPP library nobody here wrote: SCRAM-SHA-256-PLUS (tls-exporter) and
// SCRAM-SHA-1, binding, and an XEP-0199 ping answered.
func TestMelliumClient(t *testing.T) {
	ts := startServer(t, nil)
	ts.user(t, "alice")
	for _, mech := range []sasl.Mechanism{sasl.ScramSha256Plus, sasl.ScramSha1} {
		s := dialMellium(t, ts, "alice", "m-"+mech.Name, mech)
		// mellium's BindResource asks for no resource; the server makes one.
		if got := s.LocalAddr(); got.Bare().String() != "alice@example.test" || got.Resourcepart() == "" {
			t.Fatalf("bound %q", got)
		}
		go func() { _ = s.Serve(nil) }()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := ping.Send(ctx, s, jid.MustParse(testDomain))
		cancel()
		if err != nil {
			t.Fatalf("ping over %s: %v", mech.Name, err)
		}
	}
}

// TestIdleSessionCost logs what an idle bound session costs in this
// process (server side plus the synchronous test client) and checks that a
// session runs on two goroutines, its reader and its writer.
func TestIdleSessionCost(t *testing.T) {
	const n = 100
	ts := startServer(t, func(c *Config) { c.ConnectionsPerIP = n + 10 })
	alice := ts.user(t, "alice")
	settle := func() (uint64, int) {
		time.Sleep(2 * writerLinger) // the writers of the last logins end
		var m runtime.MemStats
		for range 3 {
			runtime.GC()
		}
		runtime.ReadMemStats(&m)
		return m.HeapInuse, runtime.NumGoroutine()
	}
	heap0, g0 := settle()
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = ts.login(t, alice, "idle"+string(rune('a'+i%26))+string(rune('a'+i/26)), false)
	}
	stillWorks(t, clients[n-1])
	heap1, g1 := settle()
	perSession := float64(heap1-heap0) / n / 1024
	goroutines := float64(g1-g0) / n
	t.Logf("%d idle TLS sessions: %.1f KiB heap and %.2f goroutines each (server and test client together)", n, perSession, goroutines)
	// With the idle poller (Linux), a quiet TLS session has no goroutine;
	// elsewhere one parked reader.
	want := 1.1
	if ts.srv.idle != nil {
		want = 0.1
	}
	if goroutines > want {
		t.Errorf("%.2f goroutines per idle session, want at most %.1f (no writer while idle; no reader with the idle poller)", goroutines, want)
	}
	// White space between stanzas (a client's keepalive) wakes a session;
	// it goes back to waiting without a goroutine, and still answers.
	for _, c := range clients {
		c.send(" \n")
	}
	time.Sleep(2 * readerLinger)
	_, g2 := settle()
	if goroutines := float64(g2-g0) / n; goroutines > want {
		t.Errorf("after white space: %.2f goroutines per idle session, want at most %.1f", goroutines, want)
	}
	stillWorks(t, clients[0])
}
