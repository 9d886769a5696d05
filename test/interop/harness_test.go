package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk/internal/tlscert"
)

// binary is the crosstalk binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crosstalk-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "crosstalk")
	build := exec.Command("go", "build", "-race", "-o", binary, "github.com/crosstalk-im/crosstalk/cmd/crosstalk")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: building crosstalk:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running `crosstalk serve` on loopback with ports of its own.
type server struct {
	// Domain is the one domain served.
	Domain string
	// Dir is the data directory; Config is the TOML file in it.
	Dir, Config string
	// CAFile is the server's self-signed certificate, to verify TLS against.
	CAFile string
	// Listener addresses (host:port on 127.0.0.1). SIP UDP and TCP share SIP.
	C2S, DirectTLS, SIP, SIPTLS, HTTPS string
	// Component is the XEP-0114 listener, served only when Extra
	// configures [[components]].
	Component string

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// serverOptions adjust a server before it starts.
type serverOptions struct {
	// Extra is appended to the generated TOML configuration.
	Extra string
	// Users are created before the server starts: address → password.
	Users map[string]string
}

// startServer builds a configuration with free loopback ports, creates the
// users, starts the server and waits until /healthz answers. The server is
// stopped at the end of the test; its log is printed when the test fails.
func startServer(t *testing.T, opts serverOptions) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{
		Domain:    "localhost",
		Dir:       dir,
		Config:    filepath.Join(dir, "crosstalk.toml"),
		CAFile:    filepath.Join(dir, tlscert.CertFile),
		C2S:       freeTCP(t),
		DirectTLS: freeTCP(t),
		SIP:       freeTCPAndUDP(t),
		SIPTLS:    freeTCP(t),
		HTTPS:     freeTCP(t),
		Component: freeTCP(t),
		logs:      &syncBuffer{},
	}
	cfg := fmt.Sprintf(`domains = [%q]
data_dir = %q
[listen]
xmpp_c2s = %q
xmpp_tls = %q
xmpp_s2s = ""
xmpp_component = %q
sip_udp = %q
sip_tcp = %q
sip_tls = %q
https = %q
[log]
level = "debug"
format = "json"
%s
`, s.Domain, dir, s.C2S, s.DirectTLS, s.Component, s.SIP, s.SIP, s.SIPTLS, s.HTTPS, opts.Extra)
	if err := os.WriteFile(s.Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for addr, pw := range opts.Users {
		s.AddUser(t, addr, pw)
	}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// start runs `crosstalk serve` on the server's configuration and waits
// until it is healthy.
func (s *server) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(binary, "serve", "--config", s.Config)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.done = make(chan error, 1)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting crosstalk: %v", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	s.waitHealthy(t)
}

// Restart stops the server with SIGTERM and starts a new process on the
// same configuration, data directory and ports.
func (s *server) Restart(t *testing.T) {
	t.Helper()
	s.stop(t)
	s.start(t)
}

// AddUser creates an account with the command line, on the server's store.
func (s *server) AddUser(t *testing.T, addr, password string) {
	t.Helper()
	cmd := exec.Command(binary, "user", "add", addr, "--config", s.Config)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add %s: %v: %s", addr, err, out)
	}
}

// Logs returns what the server has logged so far.
func (s *server) Logs() string { return s.logs.String() }

// waitHealthy polls /healthz over TLS, verified against the server's
// certificate, for up to 30 s.
func (s *server) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err // for stop, which would otherwise wait for it forever
			t.Fatalf("crosstalk exited early: %v\n%s", err, s.Logs())
		default:
		}
		if pool, err := s.certPool(); err == nil {
			c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: s.Domain}}}
			if resp, err := c.Get("https://" + s.HTTPS + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("crosstalk did not become healthy in 30 s\n%s", s.Logs())
}

// certPool returns a pool holding the server's certificate.
func (s *server) certPool() (*x509.CertPool, error) {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", s.CAFile)
	}
	return pool, nil
}

// stop sends SIGTERM and waits up to 10 s, then kills; it prints the log
// when the test failed.
func (s *server) stop(t *testing.T) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("crosstalk exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("crosstalk did not stop within 10 s of SIGTERM")
	}
	if t.Failed() {
		t.Logf("crosstalk log:\n%s", s.Logs())
	}
}

// requirePeer returns the path of a peer program; a missing peer fails the
// test (PEERS.md: interop tests never skip).
func requirePeer(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("peer %s is missing (install it: see .ci/run and ../shared/PEERS.md): %v", name, err)
	}
	return p
}

// runPeer runs a peer program with a time bound and returns its combined
// output; a non-zero exit fails the test with that output.
func runPeer(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := runPeerErr(t, timeout, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// runPeerErr is runPeer that returns the error instead of failing.
func runPeerErr(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, requirePeer(t, name), args...)
	cmd.WaitDelay = 2 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	return out.String(), err
}

// ports hands out loopback ports for the servers and peers a test starts.
// A port from the kernel's ":0" is in its ephemeral range, where the
// outgoing connections of every process on the machine (ctload, sipp, the
// peers, other test binaries) take their source ports, and the kernel
// hands the same free port to the next ":0" as soon as it is closed: both
// made a test's server fail with "address already in use" (seen several
// times under load, once with a server's SIP port equal to its own XMPP
// port). So ports come from below the ephemeral range, start at a random
// place, are never handed out twice by this process, and are checked free
// for TCP and UDP when handed out.
var ports = newPortSource()

// portSource is the test binary's source of ports; see ports.
type portSource struct {
	mu   sync.Mutex
	next int
}

// Ports between portLow and portHigh are below Linux's default ephemeral
// range (32768–60999) and above the well-known servers' ports.
const portLow, portHigh = 20000, 32700

func newPortSource() *portSource {
	return &portSource{next: portLow + int(time.Now().UnixNano()%int64(portHigh-portLow))}
}

// take returns a loopback address whose port is free for TCP and, with
// udp, for UDP too, and that this process has not handed out before.
func (p *portSource) take(udp bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range portHigh - portLow {
		port := p.next
		p.next++
		if p.next >= portHigh {
			p.next = portLow
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		if udp {
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				ln.Close()
				continue
			}
			pc.Close()
		}
		ln.Close()
		return addr, nil
	}
	return "", fmt.Errorf("no free loopback port in %d–%d", portLow, portHigh)
}

// freeTCP returns a loopback address with a TCP port free at the time.
func freeTCP(t *testing.T) string {
	t.Helper()
	addr, err := ports.take(false)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// freeTCPAndUDP returns a loopback address whose port is free for both TCP
// and UDP at the time (SIP serves both on one port).
func freeTCPAndUDP(t *testing.T) string {
	t.Helper()
	addr, err := ports.take(true)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// syncBuffer is a bytes.Buffer safe for the process's writers and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
