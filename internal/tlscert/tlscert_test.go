package tlscert

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestSelfSignedKeptAndRenewed(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c1, path, err := SelfSigned(dir, []string{"localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(c1.Certificate[0])
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("conference.localhost"); err != nil {
		t.Error(err)
	}
	if path != filepath.Join(dir, CertFile) {
		t.Errorf("path %s", path)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st.Mode(), err)
	}
	c2, _, err := SelfSigned(dir, []string{"localhost"}, now)
	if err != nil || string(c2.Certificate[0]) != string(c1.Certificate[0]) {
		t.Fatal("a kept certificate was not reused")
	}
	c3, _, _ := SelfSigned(dir, []string{"localhost", "example.com"}, now)
	if string(c3.Certificate[0]) == string(c1.Certificate[0]) {
		t.Fatal("a new domain did not renew the certificate")
	}
	c4, _, _ := SelfSigned(dir, []string{"localhost", "example.com"}, now.Add(validity))
	if string(c4.Certificate[0]) == string(c3.Certificate[0]) {
		t.Fatal("an expiring certificate was not renewed")
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load("/nonexistent/cert.pem", "/nonexistent/key.pem"); err == nil {
		t.Fatal("no error for missing files")
	}
}

// handshakeCurve runs a TLS handshake over a pipe between a client with
// Go's defaults (which offers X25519MLKEM768) and srv, and returns the key
// exchange the server chose.
func handshakeCurve(t *testing.T, srv *tls.Config, roots *x509.CertPool) tls.CurveID {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	errc := make(chan error, 1)
	go func() { errc <- tls.Server(a, srv).Handshake() }()
	cl := tls.Client(b, &tls.Config{ServerName: "localhost", RootCAs: roots})
	if err := cl.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return cl.ConnectionState().CurveID
}

// selfSignedTrusted generates a certificate for localhost and a pool that
// trusts it.
func selfSignedTrusted(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	c, _, err := SelfSigned(t.TempDir(), []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(c.Certificate[0])
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return c, roots
}

func TestClassicKeyExchange(t *testing.T) {
	c, roots := selfSignedTrusted(t)
	if got := handshakeCurve(t, Config(c), roots); got != tls.X25519MLKEM768 {
		t.Errorf("default: key exchange %v, want X25519MLKEM768", got)
	}
	cfg := Config(c)
	ClassicKeyExchange(cfg)
	if got := handshakeCurve(t, cfg, roots); got != tls.X25519 {
		t.Errorf("classic: key exchange %v, want X25519", got)
	}
}

// countingConn counts the writes that reach the connection.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestOneRecordPerWrite checks that a write of several kilobytes leaves as
// one TLS record in one write to the socket, not as a train of 1.2 KB
// records each written on its own (crypto/tls's dynamic record sizing).
func TestOneRecordPerWrite(t *testing.T) {
	c, roots := selfSignedTrusted(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	raw := &countingConn{Conn: a}
	srv := tls.Server(raw, Config(c))
	payload := bytes.Repeat([]byte("<message/>"), 600) // 6,000 bytes
	errc := make(chan error, 1)
	go func() {
		if err := srv.Handshake(); err != nil {
			errc <- err
			return
		}
		raw.writes.Store(0)
		_, err := srv.Write(payload)
		errc <- err
	}()
	cl := tls.Client(b, &tls.Config{ServerName: "localhost", RootCAs: roots})
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(cl, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("payload changed")
	}
	if n := raw.writes.Load(); n != 1 {
		t.Errorf("%d writes for one 6,000-byte write, want 1", n)
	}
}
