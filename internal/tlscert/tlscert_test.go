package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
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

func TestClassicKeyExchange(t *testing.T) {
	c, _, err := SelfSigned(t.TempDir(), []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(c.Certificate[0])
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	if got := handshakeCurve(t, Config(c), roots); got != tls.X25519MLKEM768 {
		t.Errorf("default: key exchange %v, want X25519MLKEM768", got)
	}
	cfg := Config(c)
	ClassicKeyExchange(cfg)
	if got := handshakeCurve(t, cfg, roots); got != tls.X25519 {
		t.Errorf("classic: key exchange %v, want X25519", got)
	}
}
