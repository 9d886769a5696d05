package xmpp

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
)

// writeCounter counts the writes to the sockets it accepts; the
// connections stay *net.TCPConn underneath (SyscallConn is promoted), so
// the server serves them as any other.
type writeCounter struct {
	net.Listener
	writes atomic.Int64
}

type countedConn struct {
	*net.TCPConn
	writes *atomic.Int64
}

func (c countedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.TCPConn.Write(p)
}

func (l *writeCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countedConn{TCPConn: c.(*net.TCPConn), writes: &l.writes}, nil
}

// TestSessionEndOneWrite: when a client ends a TLS session, the server's
// </stream:stream> and TLS close_notify leave in one write, and both
// arrive (the client sees the end of the stream, then a clean end of TLS).
func TestSessionEndOneWrite(t *testing.T) {
	ts := startServer(t, nil)
	user := ts.user(t, "alice")
	ln := serveCountingWrites(t, ts)

	c := dialRaw(t, ln.Addr().String())
	c.open()
	c.startTLS(ts.roots)
	c.open()
	scramLogin(t, c, user.Local(), ts.password, nil)
	c.open()
	c.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	if e := c.next(); e.XMLName.Local != "iq" || e.attr("type") != "result" {
		t.Fatalf("bind: %+v", e)
	}
	time.Sleep(100 * time.Millisecond) // nothing else is on its way
	before := ln.writes.Load()
	c.send("</stream:stream>")
	if e, err := c.tryNext(); err != nil || e.XMLName.Local != "</stream>" {
		t.Fatalf("end of the stream: %+v, %v", e, err)
	}
	if n, err := c.conn.Read(make([]byte, 16)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after the end of the stream: %d bytes, %v; want a TLS close_notify (EOF)", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(ts.srv.local.all()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := ln.writes.Load() - before; got != 1 {
		t.Fatalf("the session's end took %d writes, want 1", got)
	}
}

// TestReplyWithoutWriter: the answers to what a client sent are written
// by the session's reader, without a writer goroutine started for them
// (a new session starts none either); a writer still carries what the hub
// delivers.
func TestReplyWithoutWriter(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	ln := serveCountingWrites(t, ts)
	ts.addr = ln.Addr().String()
	c := ts.login(t, alice, "r", false)
	writers := func() int {
		buf := make([]byte, 1<<20)
		return strings.Count(string(buf[:runtime.Stack(buf, true)]), "xmpp.(*session).writeLoop")
	}
	if n := writers(); n != 0 {
		t.Fatalf("%d writer goroutines after bind", n)
	}
	before := ln.writes.Load()
	c.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq><iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.expect("iq", "p1")
	c.expect("iq", "p2")
	if n := writers(); n != 0 {
		t.Fatalf("%d writer goroutines after the answers to two pings", n)
	}
	if got := ln.writes.Load() - before; got != 2 {
		t.Fatalf("two pings were answered in %d writes, want one each", got)
	}
	// What the hub delivers still goes through a writer.
	b := ts.login(t, bob, "r", false)
	b.send("<message to='" + alice.String() + "/r' type='chat'><body>hi</body></message>")
	if e := c.expect("message", ""); e.attr("from") != bob.String()+"/r" {
		t.Fatalf("message: %+v", e)
	}
}

// TestInlineWriteHandsOver: the reader writes its own replies in one pass
// only (flushReplies); what arrives while it writes goes to a writer
// goroutine, so that a stream of deliveries cannot keep the reader from
// the client. Here the second reply is queued while the first is being
// written and the client reads nothing more: flushReplies must return
// while the second write waits for the client.
func TestInlineWriteHandsOver(t *testing.T) {
	ts := startServer(t, nil)
	a, peer := net.Pipe()
	defer a.Close()
	defer peer.Close()
	s := &session{
		srv:    ts.srv,
		mbox:   crosstalk.NewMailbox(16, 1<<20),
		space:  make(chan struct{}, 1),
		wakeCh: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	s.wt = &transport{conn: a, wtimeout: 10 * time.Second}
	s.queue(outItem{b: []byte("<one/>")})

	returned := make(chan struct{})
	go func() { s.flushReplies(); close(returned) }()
	buf := make([]byte, 64)
	n, err := peer.Read(buf)
	if err != nil || string(buf[:n]) != "<one/>" {
		t.Fatalf("first write: %q, %v", buf[:n], err)
	}
	s.queue(outItem{b: []byte("<two/>")}) // arrives while the first is written
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("the reader's flushReplies kept writing what arrived after its pass")
	}
	if n, err = peer.Read(buf); err != nil || string(buf[:n]) != "<two/>" {
		t.Fatalf("second write (the writer goroutine's): %q, %v", buf[:n], err)
	}
	_ = peer.Close() // the end's write fails at once
	s.Close(nil)
	s.writers.Wait()
}

// serveCountingWrites serves ts on a second loopback listener whose
// connections count their writes, until the test ends.
func serveCountingWrites(t *testing.T, ts *testServer) *writeCounter {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &writeCounter{Listener: inner}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = ts.srv.Serve(ctx, ln) }()
	return ln
}

// TestCloseBeforeAttach: a session closed between its binding and the
// start of its connection (a shutdown or a kick racing the end of a
// login) writes its end once the connection is attached: Close could
// start no writer without a connection, and the reader may be parked
// waiting for a client that says nothing (a server Shutdown then waited
// for it until its deadline).
func TestCloseBeforeAttach(t *testing.T) {
	ts := startServer(t, nil)
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	n := &negotiation{srv: ts.srv, log: ts.srv.log}
	n.t = newTransport(server, xmlguard.Limits{MaxBytes: 1 << 16, MaxDepth: 16, MaxAttrs: 16}, time.Second, &ts.srv.readBufs)
	sess := newSession(n)
	sess.Close(crosstalk.ErrShuttingDown)
	sess.attach(n.t)
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 512)
	for !strings.Contains(string(got), "</stream:stream>") {
		n, err := client.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read %q, %v: want the stream's end", got, err)
		}
	}
	if !strings.Contains(string(got), "<system-shutdown") {
		t.Fatalf("read %q: want the stream error <system-shutdown/>", got)
	}
	sess.writers.Wait()
}
