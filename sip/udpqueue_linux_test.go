package sip

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"golang.org/x/sys/unix"
)

// timedSocket is a loopback UDP socket read through queueTimedConn with
// guard g, and a sender connected to it.
func timedSocket(t *testing.T, g *loadGuard, limit time.Duration) (*queueTimedConn, net.Conn) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	tc, err := newQueueTimedConn(pc.(*net.UDPConn), g, limit)
	if err != nil {
		t.Fatal(err)
	}
	out, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	stampedOnArrival(t, tc, g, out)
	return tc, out
}

// stampedOnArrival waits until the kernel stamps datagrams as they arrive.
// Linux turns receive timestamps on for all sockets when the first socket
// asks (SO_TIMESTAMPNS), but from a deferred work item: until it has run,
// and again after the last such socket closed, a datagram carries no stamp
// and recvmsg stamps it when it is read, so its wait reads as zero. Tests
// in this package open and close such sockets in parallel. A probe that sat
// 2 ms unread and reads as waiting at least 1 ms shows the stamps are on;
// this socket keeps them on until it closes.
func stampedOnArrival(t *testing.T, tc *queueTimedConn, g *loadGuard, out net.Conn) {
	t.Helper()
	buf := make([]byte, 64)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if _, err := out.Write([]byte("probe")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		if _, _, err := tc.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
		if time.Duration(g.lastWait.Load()) >= time.Millisecond {
			return
		}
	}
	t.Fatal("datagrams are not stamped on arrival (SO_TIMESTAMPNS)")
}

// TestQueueDelayMeasured sends datagrams that sit unread for 80 ms: each
// read reports a wait of at least that, and its sender's address; a
// datagram read as soon as it comes reports a wait far below it.
func TestQueueDelayMeasured(t *testing.T) {
	g := newLoadGuard(1)
	tc, out := timedSocket(t, g, time.Hour)
	for range 3 {
		if _, err := out.Write([]byte("OPTIONS")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(80 * time.Millisecond)
	buf := make([]byte, 2048)
	for range 3 {
		n, addr, err := tc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != "OPTIONS" || addr.String() != out.LocalAddr().String() {
			t.Fatalf("read %q from %v, want OPTIONS from %v", buf[:n], addr, out.LocalAddr())
		}
		if w := time.Duration(g.lastWait.Load()); w < 80*time.Millisecond {
			t.Fatalf("waited %v, want at least 80ms", w)
		}
	}
	if _, err := out.Write([]byte("OPTIONS")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tc.ReadFrom(buf); err != nil {
		t.Fatal(err)
	}
	if w := time.Duration(g.lastWait.Load()); w <= 0 || w >= 40*time.Millisecond {
		t.Fatalf("read at once, waited %v", w)
	}
}

// TestQueueDelayGuard lets requests wait in a socket read through the
// server's load guard: once one has waited longer than the limit, the
// server refuses requests with 503 and Retry-After; once one has waited
// less than half of it, the server answers normally again.
func TestQueueDelayGuard(t *testing.T) {
	// The server's own listener reports no delay: it would clear the
	// guard, its queue being empty.
	e := newEnv(t, func(c *Config) { c.UDPQueueDelayLimit = -1 }, "alice")
	tc, out := timedSocket(t, e.srv.load, 50*time.Millisecond)
	send := func() {
		t.Helper()
		if _, err := out.Write([]byte(strings.Repeat("x", 500))); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	read := func() {
		t.Helper()
		if _, _, err := tc.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
	}
	options := func() *sipmsg.Response {
		t.Helper()
		a := newUA(t, "alice")
		res, err := a.client.Do(ctxT(t, 5*time.Second), a.request(sipmsg.OPTIONS, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// A wait under the limit refuses nothing.
	send()
	read()
	wantStatus(t, options(), 200)

	send()
	send()
	time.Sleep(70 * time.Millisecond)
	read()
	if st := e.srv.Overload(); st.QueueTrips != 1 {
		t.Fatalf("after a 70 ms wait: %+v, want one trip", st)
	}
	res := options()
	wantStatus(t, res, 503)
	if res.GetHeader("Retry-After") == nil {
		t.Fatal("503 without Retry-After")
	}
	// The queue drains: the second datagram waited longer still, and the
	// guard holds; a fresh one clears it.
	read()
	wantStatus(t, options(), 503)
	send()
	read()
	wantStatus(t, options(), 200)
	if st := e.srv.Overload(); st.QueueTrips != 1 || st.Refused != 2 {
		t.Fatalf("%+v, want 1 trip and 2 refusals", st)
	}
}

// TestQueueDelayServerListener checks that the server reads its own UDP
// listener through the guard: a request served over UDP leaves a measured
// wait.
func TestQueueDelayServerListener(t *testing.T) {
	e := newEnv(t, nil, "alice")
	a := newUA(t, "alice")
	res, err := a.client.Do(ctxT(t, 5*time.Second), a.request(sipmsg.OPTIONS, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	if w := e.srv.Overload().LastQueueWait; w <= 0 {
		t.Fatalf("last queue wait %v after a UDP request", w)
	}
}

// cmsg builds one control message as the kernel lays it out on a 64-bit
// system.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, 16+len(data))
	binary.NativeEndian.PutUint64(b, uint64(len(b)))
	binary.NativeEndian.PutUint32(b[8:], uint32(level))
	binary.NativeEndian.PutUint32(b[12:], uint32(typ))
	copy(b[16:], data)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

func timespec(sec, nsec int64) []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint64(b, uint64(sec))
	binary.NativeEndian.PutUint64(b[8:], uint64(nsec))
	return b
}

// TestReceiveTime checks the control-message walk: the timestamp is found
// after another message, and truncated or malformed ones give none.
func TestReceiveTime(t *testing.T) {
	want := time.Unix(1700000000, 123456789)
	stamp := cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespec(want.Unix(), int64(want.Nanosecond())))
	other := cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0})
	for _, tc := range []struct {
		name string
		oob  []byte
		ok   bool
	}{
		{"alone", stamp, true},
		{"after another", append(append([]byte{}, other...), stamp...), true},
		{"empty", nil, false},
		{"other only", other, false},
		{"truncated", stamp[:len(stamp)-1], false},
		{"bad nanoseconds", cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespec(1, int64(time.Second))), false},
		{"short timestamp", cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, make([]byte, 8)), false},
	} {
		at, ok := receiveTime(tc.oob)
		if ok != tc.ok || (ok && !at.Equal(want)) {
			t.Errorf("%s: %v %v, want %v", tc.name, at, ok, tc.ok)
		}
	}
}

// FuzzReceiveTime checks that no control-message buffer panics the walk
// and that a time found is the first the x/sys parser finds, reading one
// message at a time.
func FuzzReceiveTime(f *testing.F) {
	f.Add(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespec(1700000000, 5)))
	f.Add(append(cmsg(unix.SOL_IP, unix.IP_TTL, []byte{1, 0, 0, 0}), cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespec(3, 4))...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, oob []byte) {
		at, ok := receiveTime(oob)
		if !ok {
			return
		}
		for rest := oob; len(rest) > 0; {
			h, data, next, err := unix.ParseOneSocketControlMessage(rest)
			if err != nil {
				t.Fatalf("found %v where x/sys fails: %v", at, err)
			}
			if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(data))
				nsec := int64(binary.NativeEndian.Uint64(data[8:]))
				if !at.Equal(time.Unix(sec, nsec)) {
					t.Fatalf("found %v, x/sys %v", at, time.Unix(sec, nsec))
				}
				return
			}
			rest = next
		}
		t.Fatalf("found %v, x/sys finds no timestamp", at)
	})
}

// TestQueueDelayStale lets datagrams wait longer than T1 (staleWait):
// the stale request is discarded unread, while a response, an ACK, a
// CANCEL and a keep-alive that waited as long are still returned, and so
// is a fresh request after them.
func TestQueueDelayStale(t *testing.T) {
	g := newLoadGuard(1)
	tc, out := timedSocket(t, g, 20*time.Millisecond)
	kept := []string{
		"SIP/2.0 200 OK\r\n\r\n",
		"ACK sip:bob@localhost SIP/2.0\r\n\r\n",
		"CANCEL sip:bob@localhost SIP/2.0\r\n\r\n",
		"\r\n\r\n",
	}
	for _, m := range append([]string{"MESSAGE sip:bob@localhost SIP/2.0\r\n\r\n"}, kept...) {
		if _, err := out.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(staleWait + 50*time.Millisecond)
	fresh := "INFO sip:bob@localhost SIP/2.0\r\n\r\n"
	if _, err := out.Write([]byte(fresh)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for _, want := range append(kept, fresh) {
		n, _, err := tc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != want {
			t.Fatalf("read %q, want %q", buf[:n], want)
		}
	}
	if n := g.stale.Load(); n != 1 {
		t.Fatalf("%d discarded, want 1", n)
	}
}
