package sip

import (
	"net"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestConfigValidate(t *testing.T) {
	if err := Defaults().Validate(); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("defaults with TLS and no TLS config: %v", err)
	}
	c := Defaults()
	c.TLS = ""
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults without TLS: %v", err)
	}
	bad := Config{UDP: "nope", MaxMessageSize: 100, MinExpires: 3 * time.Hour, DigestAlgorithms: []string{"SHA-1"}}
	err := bad.Validate()
	for _, want := range []string{"nope", "1500", "expires", "SHA-1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%+v) = %v, want it to mention %q", bad, err, want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RequestsPerSecond, c.RequestBurst = 1, 2 }, "alice")
	a := newUA(t, "alice")
	var last *sipmsg.Response
	for i := 0; i < 4; i++ {
		req := a.request(sipmsg.OPTIONS, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
		res, err := a.client.Do(ctxT(t, 5*time.Second), req)
		if err != nil {
			t.Fatal(err)
		}
		last = res
	}
	wantStatus(t, last, 503)
	if last.GetHeader("Retry-After") == nil {
		t.Fatal("503 without Retry-After")
	}
}

func TestMessageSizeLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxMessageSize = 2000 }, "alice", "bob")
	big := "MESSAGE sip:bob@localhost SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKbig\r\n" +
		"From: <sip:x@example.org>;tag=1\r\nTo: <sip:bob@localhost>\r\nCall-ID: big\r\nCSeq: 1 MESSAGE\r\n" +
		"Max-Forwards: 70\r\nContent-Type: text/plain\r\nContent-Length: 3000\r\n\r\n" + strings.Repeat("x", 3000)
	conn, err := net.DialTimeout("tcp", e.tcp, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = conn.Write([]byte(big))
	buf := make([]byte, 512)
	n, _ := conn.Read(buf)
	if n > 0 && strings.HasPrefix(string(buf[:n]), "SIP/2.0 2") {
		t.Fatalf("an oversized message was accepted: %q", buf[:n])
	}
	// The server still works.
	a := newUA(t, "alice")
	wantStatus(t, a.register(e, 60), 200)
}

func TestConnectionsPerIP(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ConnectionsPerIP = 2 })
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.DialTimeout("tcp", e.tcp, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		t.Cleanup(func() { c.Close() })
	}
	// The third is closed by the server: a read ends at once.
	_ = conns[2].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conns[2].Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("third connection not closed: %v", err)
	}
	_ = conns[0].SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := conns[0].Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("first connection closed: %v", err)
	}
}
