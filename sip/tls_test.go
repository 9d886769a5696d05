package sip

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/tlscert"
)

func TestRegisterOverTLS(t *testing.T) {
	dir := t.TempDir()
	cert, path, err := tlscert.SelfSigned(dir, []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) {
		c.TLS = "127.0.0.1:0"
		c.TLSConfig = tlscert.Config(cert)
	}, "alice")
	tlsAddr := e.srv.Addrs()["tls"]
	pem, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"), sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool, ServerName: "localhost"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	u := &testUA{t: t, user: "alice", client: client, contact: sipmsg.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: 5999, UriParams: sipmsg.HeaderParams{{K: "transport", V: "tls"}}}}
	req := u.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, tlsAddr)
	req.SetTransport("TLS")
	req.AppendHeader(&sipmsg.ContactHeader{Address: u.contact, Params: sipmsg.NewParams()})
	wantStatus(t, u.doAuth(req, "alice-password"), 200)
	regs, err := e.storedBindings(crosstalk.MustParseAddress("alice@localhost"))
	if err != nil || len(regs) != 1 || regs[0].Received[:4] != "tls:" {
		t.Fatalf("stored %+v, %v", regs, err)
	}
}
