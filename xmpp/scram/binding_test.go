package scram

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk/internal/tlscert"
)

// TestOffersMatchesBindings checks, over real TLS 1.2 and 1.3 handshakes,
// that Offers names exactly the bindings Bindings derives, with and
// without the server's certificate, and none before a handshake.
func TestOffersMatchesBindings(t *testing.T) {
	cert, _, err := tlscert.SelfSigned(t.TempDir(), []string{"example.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if e, p := Offers(nil, leaf); e || p {
		t.Fatal("offers bindings without TLS")
	}
	if e, p := Offers(&tls.ConnectionState{}, leaf); e || p {
		t.Fatal("offers bindings before the handshake")
	}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c1, c2 := net.Pipe()
		srv := tls.Server(c1, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
		cli := tls.Client(c2, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test of the server side only
		done := make(chan error, 1)
		go func() { done <- cli.Handshake() }()
		if err := srv.Handshake(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		st := srv.ConnectionState()
		for _, c := range []*x509.Certificate{leaf, nil} {
			exporter, endPoint := Offers(&st, c)
			cb := Bindings(&st, c)
			_, hasExporter := cb[TLSExporter]
			_, hasEndPoint := cb[TLSServerEndPoint]
			if exporter != hasExporter || endPoint != hasEndPoint || exporter != (version == tls.VersionTLS13) || endPoint != (c != nil) {
				t.Errorf("TLS %x, certificate %v: offers %v %v, bindings %v", version, c != nil, exporter, endPoint, cb)
			}
		}
		_ = c1.Close() // not the TLS ends: their close_notify would wait for a reader
		_ = c2.Close()
	}
}
