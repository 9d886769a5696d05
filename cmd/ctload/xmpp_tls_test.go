package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk/internal/tlscert"
)

// tlsPeer serves one xmpp-tls operation on ln: STARTTLS unless direct,
// then the TLS handshake, then a read that must end in the client's
// close_notify (io.EOF), not a bare TCP close.
func tlsPeer(ln net.Listener, cert tls.Certificate, direct bool) error {
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if !direct {
		rd, err := openStream(conn, "<stream:features><starttls xmlns='"+nsTLS+"'><required/></starttls></stream:features>", false)
		if err != nil {
			return err
		}
		if !rd.top().is(nsTLS, "starttls") {
			return errors.New("no <starttls/>")
		}
		if _, err := io.WriteString(conn, "<proceed xmlns='"+nsTLS+"'/>"); err != nil {
			return err
		}
	}
	tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err := tc.Handshake(); err != nil {
		return err
	}
	if _, err := tc.Read(make([]byte, 1)); err != io.EOF {
		return errors.New("after the handshake: " + errString(err) + ", want the client's close_notify")
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "data"
	}
	return err.Error()
}

// TestRawTLS checks xmpp-tls's operation over STARTTLS and direct TLS: the
// handshake completes, the server's certificate is checked (the wrong CA
// fails), and the connection ends with a close_notify.
func TestRawTLS(t *testing.T) {
	cert, certFile, err := tlscert.SelfSigned(t.TempDir(), []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, otherCA, err := tlscert.SelfSigned(t.TempDir(), []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		direct bool
		ca     string
		err    string
	}{
		{"starttls", false, certFile, ""},
		{"direct", true, certFile, ""},
		{"starttls wrong CA", false, otherCA, "certificate"},
		{"direct wrong CA", true, otherCA, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			served := make(chan error, 1)
			go func() { served <- tlsPeer(ln, cert, tc.direct) }()
			cfg := &config{Scenario: scXMPPTLS, Domain: "localhost", User: "user%d", Password: "p", Accounts: 1, CAFile: tc.ca,
				DirectTLS: tc.direct, Timeout: 5 * time.Second, xmpp: netip.MustParseAddrPort(ln.Addr().String())}
			tcfg, err := cfg.tlsConfig()
			if err != nil {
				t.Fatal(err)
			}
			x := &xmppClient{cfg: cfg, tls: tcfg}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = x.rawTLS(ctx, 0)
			serr := <-served
			if tc.err == "" {
				if err != nil || serr != nil {
					t.Fatalf("client: %v, server: %v", err, serr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("client: %v, want an error about the %s", err, tc.err)
			}
		})
	}
}
