// Package tlscert gives the server its TLS certificate: files an operator
// names, or a self-signed certificate generated once and kept in the data
// directory, so that TLS is on from the first start with no set-up.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names of the generated certificate in the data directory.
const (
	CertFile = "tls-cert.pem"
	KeyFile  = "tls-key.pem"
)

// validity is how long a generated certificate lasts; it is renewed when
// less than a tenth of that remains.
const validity = 825 * 24 * time.Hour

// Names returns the names a certificate for domains must cover: each domain,
// its conference service and its wildcard, and the loopback addresses when a
// domain is localhost.
func Names(domains []string) (dns []string, ips []net.IP) {
	for _, d := range domains {
		dns = append(dns, d, "conference."+d, "*."+d)
		if d == "localhost" {
			ips = append(ips, net.ParseIP("127.0.0.1"), net.ParseIP("::1"))
		}
	}
	return dns, ips
}

// Load reads a certificate and key from files.
func Load(certFile, keyFile string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load certificate %s: %w", certFile, err)
	}
	return c, nil
}

// SelfSigned returns the self-signed certificate kept in dir, generating and
// writing it (key file mode 0600) when it is missing, expiring or does not
// cover every domain. It also returns the path of the certificate, which
// clients may trust as their CA file.
func SelfSigned(dir string, domains []string, now time.Time) (tls.Certificate, string, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && fits(c, domains, now) {
		return c, certPath, nil
	}
	certPEM, keyPEM, err := generate(domains, now)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("certificate directory: %w", err)
	}
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, "", err
	}
	if err := writeFile(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, "", err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("generated certificate: %w", err)
	}
	return c, certPath, nil
}

// fits reports whether a kept certificate still serves: valid for a while
// and naming every domain.
func fits(c tls.Certificate, domains []string, now time.Time) bool {
	if len(c.Certificate) == 0 {
		return false
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil || now.Before(leaf.NotBefore) || now.Add(validity/10).After(leaf.NotAfter) {
		return false
	}
	want, _ := Names(domains)
	for _, n := range want {
		if !slices.Contains(leaf.DNSNames, n) {
			return false
		}
	}
	return true
}

func generate(domains []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("serial: %w", err)
	}
	dns, ips := Names(domains)
	cn := "crosstalk"
	if len(domains) > 0 {
		cn = domains[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Crosstalk self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFile writes through a temporary file and a rename, so that a crash
// never leaves half a key.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", path, err), os.Remove(tmp))
	}
	return nil
}

// Config returns a server tls.Config over a certificate: TLS 1.2 at least,
// and one TLS record per write. crypto/tls otherwise cuts a fresh
// connection's writes into records of about 1.2 KB, each written to the
// socket on its own, until 128 KB have gone out (dynamic record sizing,
// which lets a browser start on a page's first bytes sooner). An XMPP or
// SIP connection rarely sends that much, and its peer cannot use part of
// a stanza: the stream features after TLS (1.3 KB with SASL and SASL2)
// would take two writes, a roster of 50 contacts five.
func Config(c tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:                  tls.VersionTLS12,
		Certificates:                []tls.Certificate{c},
		DynamicRecordSizingDisabled: true,
	}
}

// ClassicCurves are the key exchanges ClassicKeyExchange keeps: X25519 and
// the NIST curves, without the hybrid post-quantum X25519MLKEM768.
var ClassicCurves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}

// ClassicKeyExchange turns off the hybrid post-quantum key exchange
// (X25519MLKEM768), which Go's server otherwise picks whenever the client
// offers it. ML-KEM encapsulation makes a handshake markedly dearer (about
// an eighth of a whole XMPP login's server CPU); operators trade that
// against protection of today's traffic from a future quantum computer.
// Setting tls.post_quantum = false in the configuration calls this.
func ClassicKeyExchange(cfg *tls.Config) {
	cfg.CurvePreferences = slices.Clone(ClassicCurves)
}
