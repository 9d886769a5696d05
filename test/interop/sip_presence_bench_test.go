package interop

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

// fanoutWatchers is the number of SIP watchers of the fan-out benchmarks.
const fanoutWatchers = 1000

// fanoutDriver subscribes fanoutWatchers watchers (w0…, all behind one UDP
// socket) to alice@localhost at a SIP server and times PUBLISHes of alice
// until every watcher has the NOTIFY with the new note. creds returns the
// digest password of a user ("" when the server does not challenge).
type fanoutDriver struct {
	b       *testing.B
	server  string
	client  *sipgo.Client
	contact sipmsg.Uri
	creds   func(user string) string
	marker  atomic.Value
	got     atomic.Int64
	all     chan struct{}
	etag    string
}

func newFanoutDriver(b *testing.B, server string, creds func(string) string) *fanoutDriver {
	b.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fanout"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		b.Fatal(err)
	}
	d := &fanoutDriver{b: b, server: server, creds: creds, all: make(chan struct{}, 1)}
	d.marker.Store("\x00none")
	srv.OnRequest(sipmsg.NOTIFY, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
		if strings.Contains(string(req.Body()), d.marker.Load().(string)) && d.got.Add(1) == fanoutWatchers {
			d.all <- struct{}{}
		}
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pc.Close() })
	go func() { _ = srv.ServeUDP(pc) }()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	if d.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port)); err != nil {
		b.Fatal(err)
	}
	d.contact = sipmsg.Uri{Scheme: "sip", User: "fanout", Host: "127.0.0.1", Port: port}
	return d
}

func (d *fanoutDriver) request(method sipmsg.RequestMethod, from, to string) *sipmsg.Request {
	req := sipmsg.NewRequest(method, sipmsg.Uri{Scheme: "sip", User: to, Host: "localhost"})
	f := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: from, Host: "localhost"}, Params: sipmsg.NewParams()}
	f.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(f)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: to, Host: "localhost"}, Params: sipmsg.NewParams()})
	req.AppendHeader(&sipmsg.ContactHeader{Address: d.contact})
	req.AppendHeader(sipmsg.NewHeader("Event", "presence"))
	req.AppendHeader(sipmsg.NewHeader("Expires", "3600"))
	req.SetDestination(d.server)
	return req
}

func (d *fanoutDriver) do(user string, req *sipmsg.Request) *sipmsg.Response {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := d.client.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		res, err = d.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: d.creds(user)})
	}
	if err != nil {
		d.b.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// subscribeAll subscribes the watchers and waits for their first NOTIFYs.
func (d *fanoutDriver) subscribeAll() {
	for i := range fanoutWatchers {
		u := "w" + strconv.Itoa(i)
		if res := d.do(u, d.request(sipmsg.SUBSCRIBE, u, "alice")); res.StatusCode/100 != 2 {
			d.b.Fatalf("SUBSCRIBE of %s: %d %s", u, res.StatusCode, res.Reason)
		}
	}
	time.Sleep(2 * time.Second)
}

// publish sends one PUBLISH with note and waits for every NOTIFY with it.
func (d *fanoutDriver) publish(note string) {
	d.marker.Store(note)
	d.got.Store(0)
	req := d.request(sipmsg.PUBLISH, "alice", "alice")
	if d.etag != "" {
		req.AppendHeader(sipmsg.NewHeader("SIP-If-Match", d.etag))
	}
	ct := sipmsg.ContentTypeHeader("application/pidf+xml")
	req.AppendHeader(&ct)
	req.SetBody([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@localhost"><tuple id="t1"><status><basic>open</basic></status><note>` + note + `</note></tuple></presence>`))
	res := d.do("alice", req)
	if res.StatusCode != 200 {
		d.b.Fatalf("PUBLISH: %d %s", res.StatusCode, res.Reason)
	}
	if h := res.GetHeader("SIP-ETag"); h != nil {
		d.etag = h.Value()
	}
	select {
	case <-d.all:
	case <-time.After(30 * time.Second):
		d.b.Fatalf("only %d of %d NOTIFYs in 30 s", d.got.Load(), fanoutWatchers)
	}
}

// run is the timed loop: ns/op is PUBLISH to the last NOTIFY.
func (d *fanoutDriver) run() {
	d.b.ResetTimer()
	start := time.Now()
	for i := range d.b.N {
		d.publish("note-" + strconv.Itoa(i))
	}
	d.b.ReportMetric(float64(fanoutWatchers*d.b.N)/time.Since(start).Seconds(), "NOTIFY/s")
}

// kamailioPresenceCfg is Kamailio's presence server (presence,
// presence_xml with force_active: every watcher is authorised), its state
// in SQLite, as the reference for the fan-out benchmark.
const kamailioPresenceCfg = `#!KAMAILIO
debug=1
log_stderror=yes
fork=yes
children=2
listen=udp:%s
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "db_sqlite.so"
loadmodule "presence.so"
loadmodule "presence_xml.so"
modparam("presence", "db_url", "sqlite:///%s")
modparam("presence_xml", "db_url", "sqlite:///%s")
modparam("presence_xml", "force_active", 1)
request_route {
	if (is_method("PUBLISH|SUBSCRIBE")) {
		if (!t_newtran()) { sl_reply_error(); exit; }
		if (is_method("PUBLISH")) { handle_publish(); } else { handle_subscribe(); }
		t_release();
		exit;
	}
	sl_send_reply("404", "Not here");
}
`

// BenchmarkPresenceFanoutKamailio is the same scenario as
// sip.BenchmarkPublishFanout1000 against Kamailio's presence module from
// Debian (kamailio, kamailio-presence-modules, kamailio-sqlite-modules).
func BenchmarkPresenceFanoutKamailio(b *testing.B) {
	dir := b.TempDir()
	db := filepath.Join(dir, "kamailio.db")
	for _, f := range []string{"standard-create.sql", "presence-create.sql"} {
		sql, err := os.ReadFile(filepath.Join("/usr/share/kamailio/db_sqlite", f))
		if err != nil {
			b.Fatalf("kamailio schema (install kamailio-sqlite-modules): %v", err)
		}
		cmd := exec.Command("sqlite3", db)
		cmd.Stdin = strings.NewReader(string(sql))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("sqlite3 %s: %v\n%s", f, err, out)
		}
	}
	addr := freeUDP(b)
	cfg := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(kamailioPresenceCfg, addr, db, db)), 0o600); err != nil {
		b.Fatal(err)
	}
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		b.Fatalf("peer kamailio is missing: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-f", cfg, "-DD", "-E", "-w", dir, "-m", "256", "-M", "32")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	time.Sleep(time.Second)
	if cmd.ProcessState != nil {
		b.Fatalf("kamailio exited:\n%s", logs.String())
	}
	d := newFanoutDriver(b, addr, func(string) string { return "" })
	d.subscribeAll()
	d.run()
}

// freeUDP returns a loopback address with a UDP port free at the time.
func freeUDP(b *testing.B) string {
	b.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

// BenchmarkPresenceFanoutCrosstalk is the same scenario against the built
// server (without -race), its 1,000 watcher accounts and alice's roster
// (each watcher with a from subscription) written to its store first. The
// NOTIFY rate limit of RFC 3856 stays on: each PUBLISH comes at least 5 s
// after the NOTIFYs before it, as in the Kamailio run the time between
// publishes does not count.
func BenchmarkPresenceFanoutCrosstalk(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "crosstalk-bench")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/crosstalk-im/crosstalk/cmd/crosstalk").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	seedFanoutStore(b, filepath.Join(dir, "crosstalk.db"))
	sip := freeUDP(b)
	cfg := fmt.Sprintf(`domains = ["localhost"]
data_dir = %q
[listen]
xmpp_c2s = %q
xmpp_tls = %q
xmpp_s2s = ""
sip_udp = %q
sip_tcp = %q
sip_tls = %q
https = %q
[log]
level = "info"
format = "json"
[sip]
requests_per_second = 1000000.0
request_burst = 1000000
`, dir, freeAddr(b), freeAddr(b), sip, sip, freeAddr(b), freeAddr(b))
	path := filepath.Join(dir, "crosstalk.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", path)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	for i := 0; !strings.Contains(logs.String(), `"message":"ready"`); i++ {
		if i > 300 {
			b.Fatalf("crosstalk did not start:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := newFanoutDriver(b, sip, func(u string) string { return u + "-password" })
	d.subscribeAll()
	time.Sleep(4 * time.Second) // past the rate limit of the first NOTIFYs
	b.ResetTimer()
	start, waited := time.Now(), time.Duration(0)
	for i := range b.N {
		if i > 0 {
			b.StopTimer()
			t0 := time.Now()
			time.Sleep(5100 * time.Millisecond)
			waited += time.Since(t0)
			b.StartTimer()
		}
		d.publish("note-" + strconv.Itoa(i))
	}
	b.ReportMetric(float64(fanoutWatchers*b.N)/(time.Since(start)-waited).Seconds(), "NOTIFY/s")
}

// seedFanoutStore creates alice and the watchers, each allowed to see alice.
func seedFanoutStore(b *testing.B, path string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	alice := crosstalk.MustParseAddress("alice@localhost")
	for i := -1; i < fanoutWatchers; i++ {
		u := alice
		if i >= 0 {
			u = crosstalk.MustParseAddress("w" + strconv.Itoa(i) + "@localhost")
		}
		creds, err := crosstalk.NewCredentials(u, u.Local()+"-password", crosstalk.MinSCRAMIterations)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.CreateAccount(ctx, crosstalk.Account{Address: u, Credentials: creds, Created: time.Now()}); err != nil {
			b.Fatal(err)
		}
		if i >= 0 {
			item := crosstalk.RosterItem{Contact: u, SubscriptionState: crosstalk.SubscriptionState{Subscription: crosstalk.SubscriptionFrom}}
			if _, err := st.PutRosterItem(ctx, alice, item); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// freeAddr returns a loopback address with a TCP port free at the time.
func freeAddr(b *testing.B) string {
	b.Helper()
	addr, err := ports.take(false)
	if err != nil {
		b.Fatal(err)
	}
	return addr
}
