package xmpp

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk/internal/tlscert"
)

// records builds a stream of TLS-framed records with the given fragment
// lengths (the content is a counter, so misplaced bytes show).
func records(lengths ...int) (stream []byte, ends []int) {
	k := byte(0)
	for _, n := range lengths {
		stream = append(stream, 23, 3, 3, byte(n>>8), byte(n))
		for range n {
			stream = append(stream, k)
			k++
		}
		ends = append(ends, len(stream))
	}
	return stream, ends
}

// TestRecordConnBoundaries checks that recordConn hands over every byte in
// order and never a byte past a record's end, whatever the socket's chunks
// and the caller's buffers, and that it is drained exactly at record ends
// with nothing read ahead.
func TestRecordConnBoundaries(t *testing.T) {
	stream, ends := records(0, 1, 40, 3000, 5000, 16384+256, 7, 0, 100)
	for _, chunk := range []int{1, 3, 5, 6, 100, 4096, 1 << 20} {
		for _, size := range []int{1, 5, 517, 4096, 20000} {
			c := &chunkConn{byteConn: byteConn{r: bytes.NewReader(stream)}, chunk: chunk}
			c.tr = &transport{rec: &recorder{r: &connReader{}}}
			rc := newRecordConn(c, new(sync.Pool), nil)
			var got []byte
			for {
				p := make([]byte, size)
				n, err := rc.Read(p)
				// The record the read started in must hold all it read.
				i := 0
				for i < len(ends) && ends[i] <= len(got) {
					i++
				}
				got = append(got, p[:n]...)
				if n > 0 && len(got) > ends[i] {
					t.Fatalf("chunk %d size %d: read past the end of record %d", chunk, size, i)
				}
				if n > 0 && len(got) < ends[i] && rc.hn == 0 {
					t.Fatalf("chunk %d size %d: inside record %d, but at a boundary", chunk, size, i)
				}
				if rc.drained() && len(got) > 0 && !slices.Contains(ends, len(got)) {
					t.Fatalf("chunk %d size %d: drained at %d, inside a record", chunk, size, len(got))
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, stream) {
				t.Fatalf("chunk %d size %d: %d bytes out of %d, or reordered", chunk, size, len(got), len(stream))
			}
		}
	}
}

// TestRecordConnTLS runs crypto/tls over recordConn on a loopback socket:
// records the client sends back to back (several in one socket read) all
// come out, the connection is drained once their plaintext is read, and a
// drained connection waits for the socket, waking on the next record or on
// the read deadline.
func TestRecordConnTLS(t *testing.T) {
	cert, _, err := tlscert.SelfSigned(t.TempDir(), []string{testDomain}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	clientErr := make(chan error, 1)
	send := make(chan []string)
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: testDomain, RootCAs: roots})
		if err != nil {
			clientErr <- err
			return
		}
		defer c.Close()
		for batch := range send {
			// One Write per message: one record each, sent back to back.
			for _, m := range batch {
				if _, err := c.Write([]byte(m)); err != nil {
					clientErr <- err
					return
				}
			}
		}
		clientErr <- nil
	}()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rc := newRecordConn(raw, new(sync.Pool), nil)
	sc := tls.Server(rc, tlscert.Config(cert))
	if err := sc.Handshake(); err != nil {
		t.Fatal(err)
	}
	read := func(want string) {
		t.Helper()
		var got []byte
		p := make([]byte, 4096)
		for len(got) < len(want) {
			n, err := sc.Read(p)
			if err != nil {
				t.Fatalf("read: %v after %q", err, got)
			}
			got = append(got, p[:n]...)
		}
		if string(got) != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	send <- []string{"<a/>", "<b/>", "<c/>"}
	time.Sleep(50 * time.Millisecond) // all three records are in the socket
	read("<a/>")
	if rc.drained() {
		t.Fatal("drained with two records of the client's read ahead")
	}
	read("<b/><c/>")
	if !rc.drained() {
		t.Fatal("not drained after reading everything the client sent")
	}
	woke := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		rc.waitReadable()
		woke <- time.Since(start)
	}()
	select {
	case <-woke:
		t.Fatal("waitReadable returned with nothing sent")
	case <-time.After(100 * time.Millisecond):
	}
	send <- []string{"<d/>"}
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("waitReadable did not wake on a record")
	}
	if rc.drained() {
		t.Fatal("waitReadable did not read the record ahead (a peek and then a read: two system calls)")
	}
	read("<d/>")
	// linger: quiet for its whole wait; ready at once when a deadline is
	// set meanwhile (a kick) or when a record comes; its own deadline is
	// not left behind.
	_ = sc.SetReadDeadline(time.Now().Add(time.Minute))
	if r := rc.linger(50 * time.Millisecond); r != lingerQuiet {
		t.Fatalf("linger with nothing sent: %d", r)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = sc.SetReadDeadline(time.Now()) // a kick
	}()
	if start := time.Now(); rc.linger(5*time.Second) != lingerReady || time.Since(start) > 2*time.Second {
		t.Fatal("linger did not end when a deadline was set")
	}
	_ = sc.SetReadDeadline(time.Now().Add(time.Minute))
	go func() {
		time.Sleep(20 * time.Millisecond)
		send <- []string{"<e/>"}
	}()
	if start := time.Now(); rc.linger(5*time.Second) != lingerReady || time.Since(start) > 2*time.Second {
		t.Fatal("linger did not end when a record came")
	}
	if rc.drained() {
		t.Fatal("linger did not read the record ahead")
	}
	time.Sleep(100 * time.Millisecond) // past linger's own deadlines
	read("<e/>")
	_ = sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if rc.waitReadable() {
		if _, err := sc.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after the deadline: %v", err)
		}
	}
	close(send)
	if err := <-clientErr; err != nil {
		t.Fatal(err)
	}
}

// FuzzRecordConn feeds arbitrary bytes, in arbitrary socket chunks and to
// arbitrary read sizes, through recordConn's record framing: every byte
// comes out once and in order, no read crosses a record's end as a plain
// parse of the framing places it, and the reader is drained exactly at
// record ends.
func FuzzRecordConn(f *testing.F) {
	seed, _ := records(0, 1, 40, 300)
	f.Add(seed, uint16(1), uint16(5))
	f.Add(seed, uint16(7), uint16(517))
	big, _ := records(5000, 3)
	f.Add(big, uint16(4096), uint16(4096))
	f.Add([]byte{23, 3, 3, 0xff, 0xff, 1, 2, 3}, uint16(3), uint16(2))
	f.Add([]byte{22, 3, 1}, uint16(1), uint16(1))
	f.Fuzz(func(t *testing.T, input []byte, chunk, size uint16) {
		chunk, size = max(chunk%9000, 1), max(size%9000, 1)
		// The record ends, by a plain parse of the framing.
		var ends []int
		for i := 0; i+tlsRecordHeader <= len(input); {
			i += tlsRecordHeader + (int(input[i+3])<<8 | int(input[i+4]))
			ends = append(ends, min(i, len(input)))
		}
		c := &chunkConn{byteConn: byteConn{r: bytes.NewReader(input)}, chunk: int(chunk)}
		c.tr = &transport{rec: &recorder{r: &connReader{}}}
		rc := newRecordConn(c, new(sync.Pool), nil)
		var got []byte
		for range len(input) + 2 {
			p := make([]byte, size)
			n, err := rc.Read(p)
			i := 0
			for i < len(ends) && ends[i] <= len(got) {
				i++
			}
			got = append(got, p[:n]...)
			if i < len(ends) && len(got) > ends[i] {
				t.Fatalf("read from %d to %d, past the end of a record at %d", len(got)-n, len(got), ends[i])
			}
			if rc.drained() && len(got) > 0 && len(got) < len(input) && !slices.Contains(ends, len(got)) {
				t.Fatalf("drained at %d, inside a record (ends %v)", len(got), ends)
			}
			if err != nil {
				break
			}
		}
		if !bytes.Equal(got, input) {
			t.Fatalf("%d bytes out of %d, or reordered", len(got), len(input))
		}
	})
}

// TestSessionState checks per-session feature state: a key set again is
// replaced, keys do not mix, an unknown key is nil.
func TestSessionState(t *testing.T) {
	var s session
	s.Set("a", 1)
	s.Set("b", "two")
	s.Set("a", 3)
	if s.Get("a") != 3 || s.Get("b") != "two" || s.Get("c") != nil || len(s.state) != 2 {
		t.Fatalf("state: %+v", s.state)
	}
}
