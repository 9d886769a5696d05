package scram

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
)

// Channel-binding type names (RFC 9266, RFC 5929).
const (
	TLSExporter       = "tls-exporter"
	TLSServerEndPoint = "tls-server-end-point"
)

// exporterLabel is the keying-material label of RFC 9266 §2.
const exporterLabel = "EXPORTER-Channel-Binding"

// Bindings returns the channel-binding data a TLS connection offers:
// tls-exporter on TLS 1.3 (RFC 9266 forbids it below 1.3 without extended
// master secret, which Go does not report) and tls-server-end-point when the
// server's certificate is known. It returns nil for a connection without TLS.
func Bindings(cs *tls.ConnectionState, serverCert *x509.Certificate) ChannelBinding {
	exporter, endPoint := Offers(cs, serverCert)
	if !exporter && !endPoint {
		return nil
	}
	cb := make(ChannelBinding, 2)
	if exporter {
		if km, err := cs.ExportKeyingMaterial(exporterLabel, nil, 32); err == nil {
			cb[TLSExporter] = km
		}
	}
	if endPoint {
		cb[TLSServerEndPoint] = EndPointHash(serverCert)
	}
	if len(cb) == 0 {
		return nil
	}
	return cb
}

// Offers reports which bindings Bindings returns for a connection, without
// deriving them: tls-exporter on a completed TLS 1.3 handshake (whose
// keying-material export cannot fail for this label) and
// tls-server-end-point when the certificate is known.
func Offers(cs *tls.ConnectionState, serverCert *x509.Certificate) (exporter, endPoint bool) {
	if cs == nil || !cs.HandshakeComplete {
		return false, false
	}
	return cs.Version >= tls.VersionTLS13, serverCert != nil
}

// EndPointHash is the tls-server-end-point binding of RFC 5929 §4.1: the
// certificate hashed with its signature's hash, SHA-256 for MD5 and SHA-1
// (and for algorithms the RFC does not name, such as Ed25519).
func EndPointHash(c *x509.Certificate) []byte {
	switch c.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		sum := sha512.Sum384(c.Raw)
		return sum[:]
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		sum := sha512.Sum512(c.Raw)
		return sum[:]
	default:
		sum := sha256.Sum256(c.Raw)
		return sum[:]
	}
}
