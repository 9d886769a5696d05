package scram

import (
	"crypto/sha256"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// FuzzServer feeds arbitrary client messages to both steps of an exchange:
// no input may panic the server or authenticate without the password.
func FuzzServer(f *testing.F) {
	f.Add([]byte("n,,n=user,r=abc"), []byte("c=biws,r=abcxyz,p=AAAA"))
	f.Add([]byte("p=tls-exporter,a=user,n=user,r=x"), []byte("c=,r=,p="))
	f.Add([]byte("y,,n==2C=3D,r=1,e=x"), []byte("c=eSws,r=1,x=y,p=dGVzdA=="))
	salt := []byte("0123456789abcdef")
	keys, err := crosstalk.DeriveSCRAMKeys(sha256.New, "secret", salt, 4096)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, first, final []byte) {
		for _, plus := range []bool{false, true} {
			s := New(SHA256, plus, ChannelBinding{TLSExporter: []byte("cb")}, func(string) (crosstalk.SCRAMKeys, error) { return keys, nil })
			s.SetNonce(func() string { return "xyz" })
			if _, err := s.Step(first); err != nil {
				continue
			}
			if _, err := s.Step(final); err == nil || s.Done() {
				t.Fatalf("authenticated by %q / %q", first, final)
			}
		}
	})
}
