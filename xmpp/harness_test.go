package xmpp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"mellium.im/sasl"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/tlscert"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

const testDomain = "example.test"

// testServer is a whole c2s server on loopback over a real SQLite store.
type testServer struct {
	srv      *Server
	hub      *crosstalk.Hub
	store    crosstalk.Store
	addr     string // STARTTLS
	tlsAddr  string // direct TLS
	compAddr string // XEP-0114 components, when configured
	roots    *x509.CertPool
	password string
	// stop shuts the server down and closes its store; it runs at the
	// end of the test, or earlier for a restart.
	stop func()
}

func startServer(t testing.TB, tweak func(*Config)) *testServer {
	t.Helper()
	return startServerIn(t, t.TempDir(), tweak, nil)
}

// startServerHub is startServer with the hub's configuration tweaked too.
func startServerHub(t testing.TB, tweak func(*Config), hubTweak func(*crosstalk.HubConfig)) *testServer {
	t.Helper()
	return startServerIn(t, t.TempDir(), tweak, hubTweak)
}

// startServerIn starts a server on the store and certificate kept in dir,
// so that a test can stop it (testServer.stop) and start another on the
// same data: a restart. hubTweak, if not nil, tweaks the hub's
// configuration.
func startServerIn(t testing.TB, dir string, tweak func(*Config), hubTweak func(*crosstalk.HubConfig)) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlite.Open(ctx, dir+"/db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := tlscert.SelfSigned(dir, []string{testDomain}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	cfg := Defaults()
	cfg.Domains = []string{testDomain}
	cfg.TLS = tlscert.Config(cert)
	if tweak != nil {
		tweak(&cfg)
	}
	var serviceDomains []string
	for _, c := range cfg.Components {
		serviceDomains = append(serviceDomains, c.Domain)
	}
	hcfg := crosstalk.HubConfig{Domains: []string{testDomain}, Archive: true, RoomDomains: []string{"conference." + testDomain}, ServiceDomains: serviceDomains}
	if hubTweak != nil {
		hubTweak(&hcfg)
	}
	hub := crosstalk.NewHub(hcfg, st, zerolog.Nop())
	log := zerolog.Nop()
	if testing.Verbose() {
		log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	srv, err := New(cfg, hub, st, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 3)
	serving := 2
	go func() { _ = srv.Serve(ctx, ln); done <- struct{}{} }()
	go func() { _ = srv.ServeTLS(ctx, tln); done <- struct{}{} }()
	ts := &testServer{srv: srv, hub: hub, store: st, addr: ln.Addr().String(), tlsAddr: tln.Addr().String(), roots: roots, password: "pässwörd 1"}
	if len(cfg.Components) > 0 {
		cln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serving++
		go func() { _ = srv.ServeComponents(ctx, cln); done <- struct{}{} }()
		ts.compAddr = cln.Addr().String()
	}
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			_ = hub.Close(sctx)
			if err := srv.Shutdown(sctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			cancel()
			for range serving {
				<-done
			}
			_ = st.Close()
		})
	}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) user(t testing.TB, local string) crosstalk.Address {
	t.Helper()
	a := crosstalk.MustParseAddress(local + "@" + testDomain)
	if err := ts.hub.CreateAccount(context.Background(), a, ts.password, crosstalk.MinSCRAMIterations); err != nil {
		t.Fatal(err)
	}
	return a
}

// client is a raw XML test client.
type client struct {
	t    testing.TB
	conn net.Conn
	dec  *xml.Decoder
	jid  string
}

// el is a received top-level element.
type el struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   string     `xml:",innerxml"`
}

func (e el) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func dialRaw(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, conn: conn, dec: xml.NewDecoder(conn)}
}

// opTimeout bounds one read or write of a test client; it is generous
// because CI machines are shared and loaded.
const opTimeout = 20 * time.Second

func (c *client) send(s string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(opTimeout))
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// open sends a stream header and reads the server's header and features.
func (c *client) open() el {
	c.t.Helper()
	c.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + testDomain + "' version='1.0'>")
	c.readStreamHeader()
	f := c.next()
	if f.XMLName.Local != "features" {
		c.t.Fatalf("expected features, got %+v", f)
	}
	return f
}

// readStreamHeader reads the server's stream header with a fresh decoder
// (a new stream, or the first after TLS).
func (c *client) readStreamHeader() {
	c.t.Helper()
	c.dec = xml.NewDecoder(c.conn)
	for {
		tok, err := c.dec.Token()
		if err != nil {
			c.t.Fatalf("stream header: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			return
		}
	}
}

// next reads the next top-level element; a closed stream gives an element
// named "</stream>".
func (c *client) next() el {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(opTimeout))
	e, err := c.tryNext()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return e
}

func (c *client) tryNext() (el, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return el{}, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			var e el
			if err := c.dec.DecodeElement(&e, &tok); err != nil {
				return el{}, err
			}
			return e, nil
		case xml.EndElement:
			return el{XMLName: xml.Name{Local: "</stream>"}}, nil
		}
	}
}

// expect reads elements until one named local arrives, skipping presence
// and roster pushes unless asked for; it fails after 50 elements.
func (c *client) expect(local, contains string) el {
	c.t.Helper()
	for range 50 {
		e := c.next()
		if e.XMLName.Local == local && strings.Contains(e.Inner+fmt.Sprint(e.Attrs), contains) {
			return e
		}
		if e.XMLName.Local == "</stream>" {
			c.t.Fatalf("stream closed while waiting for <%s/> with %q", local, contains)
		}
	}
	c.t.Fatalf("no <%s/> with %q", local, contains)
	return el{}
}

// startTLS upgrades the stream.
func (c *client) startTLS(roots *x509.CertPool) {
	c.t.Helper()
	c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	if e := c.next(); e.XMLName.Local != "proceed" {
		c.t.Fatalf("starttls: %+v", e)
	}
	tc := tls.Client(c.conn, &tls.Config{ServerName: testDomain, RootCAs: roots})
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.conn = tc
}

// auth runs SASL with mellium's client mechanism and returns the success
// element or the failure.
func (c *client) auth(mech sasl.Mechanism, user, password string, mechs []string) el {
	c.t.Helper()
	var opts []sasl.Option
	opts = append(opts, sasl.Credentials(func() ([]byte, []byte, []byte) { return []byte(user), []byte(password), nil }),
		sasl.RemoteMechanisms(mechs...))
	if tc, ok := c.conn.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		opts = append(opts, sasl.TLSState(cs))
	}
	neg := sasl.NewClient(mech, opts...)
	_, resp, err := neg.Step(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + mech.Name + "'>" + base64.StdEncoding.EncodeToString(resp) + "</auth>")
	for range 4 {
		e := c.next()
		switch e.XMLName.Local {
		case "challenge":
			data, _ := base64.StdEncoding.DecodeString(e.Inner)
			_, resp, err := neg.Step(data)
			if err != nil {
				c.t.Fatalf("sasl step: %v", err)
			}
			c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64.StdEncoding.EncodeToString(resp) + "</response>")
		case "success":
			data, _ := base64.StdEncoding.DecodeString(e.Inner)
			if len(data) == 0 {
				return e
			}
			if _, _, err := neg.Step(data); err != nil {
				c.t.Fatalf("server signature: %v", err)
			}
			return e
		default:
			return e
		}
	}
	c.t.Fatal("sasl did not finish")
	return el{}
}

func mechanisms(features el) []string {
	var f struct {
		Mechs []string `xml:"mechanisms>mechanism"`
	}
	_ = xml.Unmarshal([]byte("<f>"+features.Inner+"</f>"), &f)
	return f.Mechs
}

// login connects, negotiates TLS and SCRAM-SHA-256, binds resource and
// sends initial presence unless noPresence.
func (ts *testServer) login(t testing.TB, user crosstalk.Address, resource string, presence bool) *client {
	t.Helper()
	c := dialRaw(t, ts.addr)
	c.open()
	c.startTLS(ts.roots)
	f := c.open()
	if e := c.auth(sasl.ScramSha256, user.Local(), ts.password, mechanisms(f)); e.XMLName.Local != "success" {
		t.Fatalf("auth: %+v", e)
	}
	c.open()
	c.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	e := c.expect("iq", "bind")
	var b struct {
		JID string `xml:"bind>jid"`
	}
	_ = xml.Unmarshal([]byte("<x>"+e.Inner+"</x>"), &b)
	c.jid = b.JID
	if !strings.HasPrefix(c.jid, user.String()+"/") {
		t.Fatalf("bound %q", c.jid)
	}
	if presence {
		c.send("<presence/>")
	}
	return c
}
