//go:build unix

package tlscert

import (
	"crypto/tls"
	"net"
	"syscall"
	"testing"
	"time"
)

// processCPU is the process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHandshake is the floor under every TLS login: full TLS 1.3
// handshakes with the certificate this package generates and the
// server's configuration with X25519 only (post_quantum = false), the
// client checking the certificate and offering X25519 only, both in this
// process over loopback TCP, on every core (b.RunParallel). It reports
// handshakes/s and the CPU of both sides per handshake: what ctload
// xmpp-tls and a server share on one machine, with nothing else.
func BenchmarkHandshake(b *testing.B) {
	c, roots := selfSignedTrusted(b)
	srv := Config(c)
	ClassicKeyExchange(srv)
	srv.SessionTicketsDisabled = true
	cli := &tls.Config{ServerName: "localhost", RootCAs: roots, CurvePreferences: []tls.CurveID{tls.X25519}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				// The client's close_notify ends the read once the
				// handshake is done.
				_, _ = tls.Server(conn, srv).Read(make([]byte, 1))
			}()
		}
	}()
	b.ResetTimer()
	cpu0, t0 := processCPU(b), time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Error(err)
				return
			}
			tc := tls.Client(conn, cli)
			if err := tc.Handshake(); err != nil {
				b.Error(err)
			}
			_ = tc.Close()
		}
	})
	cpu, wall := processCPU(b)-cpu0, time.Since(t0)
	b.ReportMetric(float64(b.N)/wall.Seconds(), "handshakes/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}
