package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk/internal/tlscert"
)

// Smoke runs of cmd/ctload against the reference servers from Debian
// (Prosody for XMPP, Kamailio for SIP), each on loopback with a private
// configuration from bench/ in t.TempDir(). They keep the load tool
// working; once Crosstalk's frontends are in, the same runs aim at it.

// ctloadBuild builds cmd/ctload once per test binary.
var ctloadBuild = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ctload-interop-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ctload")
	out, err := exec.Command("go", "build", "-race", "-o", bin, "github.com/crosstalk-im/crosstalk/cmd/ctload").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building ctload: %w\n%s", err, out)
	}
	return bin, nil
})

// ctloadResult is the part of ctload's JSON the tests check.
type ctloadResult struct {
	Scenario string `json:"scenario"`
	Phases   []struct {
		Name      string  `json:"name"`
		OK        int64   `json:"ok"`
		Failed    int64   `json:"failed"`
		PerSecond float64 `json:"per_second"`
		Latency   struct {
			Samples int     `json:"samples"`
			P50     float64 `json:"p50_ms"`
			P99     float64 `json:"p99_ms"`
		} `json:"latency"`
		Errors []struct {
			Error string `json:"error"`
			Count int64  `json:"count"`
		} `json:"errors"`
	} `json:"phases"`
	Sessions           int      `json:"sessions"`
	ServerRSSAfterKB   int64    `json:"server_rss_after_kb"`
	ServerRSSPerSessKB float64  `json:"server_rss_per_session_kb"`
	Notes              []string `json:"notes"`
}

// runCtload runs ctload with args (bounded to 40 s) and returns its exit
// status and output.
func runCtload(t *testing.T, args ...string) (int, string) {
	t.Helper()
	bin, err := ctloadBuild()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 2 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ctload %s timed out\n%s", strings.Join(args, " "), out.String())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("ctload: %v", err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// smokeDirectTLS runs xmpp-login in smoke mode over XEP-0368 direct TLS
// at tlsAddr, offering X25519 only and resuming TLS sessions; with
// wantResumed it checks that some handshakes were resumed (the first
// logins are full ones).
func smokeDirectTLS(t *testing.T, tlsAddr, ca string, pid int, wantResumed bool) {
	t.Helper()
	r := smoke(t, "xmpp-login", "-xmpp", tlsAddr, "-ca", ca, "-accounts", strconv.Itoa(ctloadAccounts), "-pid", strconv.Itoa(pid),
		"-direct-tls", "-tls-resume", "-tls-groups", "x25519")
	var resumed int
	for _, n := range r.Notes {
		if _, err := fmt.Sscanf(n, "%d TLS handshakes resumed", &resumed); err == nil {
			break
		}
	}
	if !strings.Contains(r.Notes[0], "direct TLS") || wantResumed && resumed == 0 {
		t.Errorf("notes %q: want direct TLS, resumed handshakes %v", r.Notes, wantResumed)
	}
}

// smokeTLS runs xmpp-tls in smoke mode, over STARTTLS at addr and over
// direct TLS at tlsAddr, offering X25519 only: a login's TLS handshake
// alone, the certificate checked against ca, then close_notify.
func smokeTLS(t *testing.T, addr, tlsAddr, ca string, pid int) {
	t.Helper()
	for _, direct := range []bool{false, true} {
		args := []string{"-xmpp", addr, "-ca", ca, "-pid", strconv.Itoa(pid), "-tls-groups", "x25519"}
		want := "STARTTLS"
		if direct {
			args = append(args, "-direct-tls")
			args[1], want = tlsAddr, "direct TLS"
		}
		r := smoke(t, "xmpp-tls", args...)
		if len(r.Phases) != 1 || r.Phases[0].Name != "tls" || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], want) {
			t.Errorf("phases %+v, notes %q: want one tls phase over %s", r.Phases, r.Notes, want)
		}
	}
}

// smoke runs a ctload scenario in smoke mode and checks it: exit 0, every
// phase with successes, no failures, non-zero rates and latencies.
func smoke(t *testing.T, scenario string, args ...string) ctloadResult {
	t.Helper()
	jsonFile := filepath.Join(t.TempDir(), scenario+".json")
	args = append(append([]string{"-smoke", "-json", jsonFile}, args...), scenario)
	code, out := runCtload(t, args...)
	t.Logf("ctload %s:\n%s", strings.Join(args, " "), out)
	if code != 0 {
		t.Fatalf("ctload exited %d", code)
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var r ctloadResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("ctload JSON: %v\n%s", err, b)
	}
	if r.Scenario != scenario || len(r.Phases) == 0 {
		t.Fatalf("result %+v", r)
	}
	for _, p := range r.Phases {
		if p.OK == 0 || p.Failed != 0 || p.PerSecond <= 0 || len(p.Errors) != 0 {
			t.Errorf("phase %s: ok=%d failed=%d per_second=%g errors=%v", p.Name, p.OK, p.Failed, p.PerSecond, p.Errors)
		}
		if p.Name != "hold" && (p.Latency.Samples == 0 || p.Latency.P50 <= 0 || p.Latency.P99 < p.Latency.P50) {
			t.Errorf("phase %s: latency %+v", p.Name, p.Latency)
		}
	}
	return r
}

// smokeMUC runs ctload muc in smoke mode (8 occupants of one room on
// conference.localhost) and checks its phases: every occupant joined,
// every fan-out round reached the 7 others, and the busy room's
// deliveries are 7 per message.
func smokeMUC(t *testing.T, args ...string) {
	t.Helper()
	r := smoke(t, "muc", args...)
	names := make([]string, len(r.Phases))
	for i, p := range r.Phases {
		names[i] = p.Name
	}
	if strings.Join(names, ",") != "login,join,fanout,busy,delivery" {
		t.Fatalf("phases %v", names)
	}
	if join := r.Phases[1]; join.OK != ctloadAccounts {
		t.Errorf("join ok %d, want %d", join.OK, ctloadAccounts)
	}
	if busy, del := r.Phases[3], r.Phases[4]; del.OK != busy.OK*(ctloadAccounts-1) {
		t.Errorf("busy room: %d messages but %d deliveries, want %d each", busy.OK, del.OK, ctloadAccounts-1)
	}
}

// placeholder matches a template's @KEY@.
var placeholder = regexp.MustCompile(`@[A-Z]+@`)

// fillTemplate reads a bench/ template and replaces each @KEY@.
func fillTemplate(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "bench", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "@"+k+"@", v)
	}
	if left := placeholder.FindString(s); left != "" {
		t.Fatalf("%s: placeholder %s not filled in", name, left)
	}
	return s
}

// peerProcess is a reference server started by a test.
type peerProcess struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// startPeer starts a server program and stops it (SIGTERM, then SIGKILL
// after 10 s) at the end of the test, printing its output on failure.
func startPeer(t *testing.T, dir, name string, args ...string) *peerProcess {
	t.Helper()
	return startPeerEnv(t, dir, nil, name, args...)
}

// startPeerEnv is startPeer with variables added to the environment.
func startPeerEnv(t *testing.T, dir string, env []string, name string, args ...string) *peerProcess {
	t.Helper()
	p := &peerProcess{cmd: exec.Command(requirePeer(t, name), args...), logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Dir = dir
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Errorf("%s did not stop within 10 s of SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.logs.String())
		}
	})
	return p
}

// peerStartTimeout is how long a peer may take to be ready. ejabberd
// boots in 3–5 s on a quiet machine but took over 15 s once while the
// race-detector tests of other packages shared the two cores.
const peerStartTimeout = 60 * time.Second

// waitFor polls ready every 50 ms for up to peerStartTimeout; the peer
// exiting early fails the test.
func (p *peerProcess) waitFor(t *testing.T, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(peerStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited early: %v\n%s", what, err, p.logs.String())
		default:
		}
		if ready() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready in %v\n%s", what, peerStartTimeout, p.logs.String())
}

// ctloadAccounts is how many accounts the smoke runs use (user1…user8,
// password "secret"): 4 chat pairs.
const ctloadAccounts = 8

// startProsody starts Prosody on free loopback ports (STARTTLS at addr,
// XEP-0368 direct TLS at tlsAddr) with its own config, certificate and data
// in a temporary directory, with user1…user8.
func startProsody(t *testing.T) (addr, tlsAddr, caFile string, pid int) {
	t.Helper()
	requirePeer(t, "prosody")
	prosodyctl := requirePeer(t, "prosodyctl")
	dir := t.TempDir()
	if _, _, err := tlscert.SelfSigned(dir, []string{"localhost"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	addr, tlsAddr = freeTCP(t), freeTCP(t)
	host, port, _ := net.SplitHostPort(addr)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	cfgFile := filepath.Join(dir, "prosody.cfg.lua")
	cfg := fillTemplate(t, "prosody.cfg.lua.in", map[string]string{
		"DIR": dir, "ADDR": host, "PORT": port, "TLSPORT": tlsPort, "DOMAIN": "localhost",
		"CERT": filepath.Join(dir, tlscert.CertFile), "KEY": filepath.Join(dir, tlscert.KeyFile),
		"MUC": "conference.localhost",
	})
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= ctloadAccounts; i++ {
		runPeer(t, 10*time.Second, prosodyctl, "--config", cfgFile, "register", "user"+strconv.Itoa(i), "localhost", "secret")
	}
	p := startPeer(t, dir, "prosody", "--config", cfgFile, "-F")
	p.waitFor(t, "prosody", func() bool {
		for _, a := range []string{addr, tlsAddr} {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				return false
			}
			c.Close()
		}
		return true
	})
	return addr, tlsAddr, filepath.Join(dir, tlscert.CertFile), p.cmd.Process.Pid
}

// startKamailio starts Kamailio on a free loopback UDP port with its own
// config and working directory.
func startKamailio(t *testing.T) (addr string, pid int) {
	t.Helper()
	dir := t.TempDir()
	addr = freeTCPAndUDP(t)
	host, port, _ := net.SplitHostPort(addr)
	cfgFile := filepath.Join(dir, "kamailio.cfg")
	cfg := fillTemplate(t, "kamailio.cfg.in", map[string]string{
		"ADDR": host, "PORT": port, "DOMAIN": "localhost", "PASSWORD": "secret", "CHILDREN": "2",
	})
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startPeer(t, dir, "kamailio", "-f", cfgFile, "-DD", "-E", "-w", dir, "-P", filepath.Join(dir, "kamailio.pid"), "-m", "256", "-M", "16")
	p.waitFor(t, "kamailio", func() bool { return sipOptionsAnswered(addr) })
	return addr, p.cmd.Process.Pid
}

// sipOptionsAnswered sends one OPTIONS over UDP and reports whether any
// response came within 200 ms.
func sipOptionsAnswered(addr string) bool {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	local := c.LocalAddr().String()
	req := "OPTIONS sip:localhost SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-ctload-probe\r\n" +
		"Max-Forwards: 70\r\nTo: <sip:localhost>\r\nFrom: <sip:probe@localhost>;tag=probe\r\n" +
		"Call-ID: probe-" + local + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return err == nil && bytes.HasPrefix(buf[:n], []byte("SIP/2.0 "))
}

func TestCtloadProsody(t *testing.T) {
	addr, tlsAddr, ca, pid := startProsody(t)
	common := []string{"-xmpp", addr, "-ca", ca, "-accounts", strconv.Itoa(ctloadAccounts), "-pid", strconv.Itoa(pid)}
	t.Run("xmpp-login", func(t *testing.T) {
		smoke(t, "xmpp-login", common...)
	})
	t.Run("xmpp-login-direct-tls-resumed", func(t *testing.T) {
		smokeDirectTLS(t, tlsAddr, ca, pid, true) // with tickets on (bench/prosody.cfg.lua.in)
	})
	t.Run("xmpp-tls", func(t *testing.T) { smokeTLS(t, addr, tlsAddr, ca, pid) })
	t.Run("xmpp-chat", func(t *testing.T) {
		r := smoke(t, "xmpp-chat", common...)
		if len(r.Phases) != 2 || r.Phases[1].Name != "message" {
			t.Errorf("phases %+v", r.Phases)
		}
	})
	t.Run("xmpp-presence", func(t *testing.T) {
		// Two full-mesh groups of four: three contacts each.
		r := smoke(t, "xmpp-presence", append(common, "-contacts", "3")...)
		if len(r.Phases) != 3 || r.Phases[2].Name != "presence" || r.Phases[2].OK%3 != 0 {
			t.Errorf("phases %+v", r.Phases)
		}
	})
	t.Run("xmpp-idle", func(t *testing.T) {
		r := smoke(t, "xmpp-idle", append(common, "-src", "127.0.0.2-127.0.0.5")...)
		if r.Sessions == 0 || r.ServerRSSAfterKB <= 0 {
			t.Errorf("sessions %d, server RSS %d KiB", r.Sessions, r.ServerRSSAfterKB)
		}
	})
	t.Run("muc", func(t *testing.T) { smokeMUC(t, common...) })
	t.Run("wrong-password-fails", func(t *testing.T) {
		code, out := runCtload(t, "-smoke", "-n", "2", "-password", "wrong", "-xmpp", addr, "-ca", ca, "xmpp-login")
		if code != 1 || !strings.Contains(out, "failed") {
			t.Errorf("exit %d, want 1 with failures:\n%s", code, out)
		}
	})
}

func TestCtloadKamailio(t *testing.T) {
	addr, pid := startKamailio(t)
	common := []string{"-sip", addr, "-accounts", strconv.Itoa(ctloadAccounts), "-pid", strconv.Itoa(pid)}
	t.Run("sip-register", func(t *testing.T) {
		smoke(t, "sip-register", append(common, "-src", "127.0.0.2-127.0.0.3")...)
	})
	t.Run("sip-message", func(t *testing.T) {
		r := smoke(t, "sip-message", common...)
		if len(r.Phases) != 2 || r.Phases[1].Name != "message" {
			t.Errorf("phases %+v", r.Phases)
		}
	})
	tcp := append([]string{"-sip-transport", "tcp"}, common...)
	t.Run("sip-register-tcp", func(t *testing.T) { smoke(t, "sip-register", tcp...) })
	t.Run("sip-message-tcp", func(t *testing.T) {
		if r := smoke(t, "sip-message", tcp...); len(r.Phases) != 2 || r.Phases[1].Name != "message" {
			t.Errorf("phases %+v", r.Phases)
		}
	})
}

// TestCtloadRefusesNonLoopback checks the built command refuses to load
// anything but loopback.
func TestCtloadRefusesNonLoopback(t *testing.T) {
	for _, args := range [][]string{
		{"-xmpp", "192.0.2.1:5222", "xmpp-login"},
		{"-sip", "example.com:5060", "sip-register"},
		{"-src", "10.0.0.1", "xmpp-idle"},
		{"-sip", "192.0.2.1:5060", "cross"},
	} {
		code, out := runCtload(t, args...)
		if code != 2 || !strings.Contains(out, "not a loopback address") {
			t.Errorf("ctload %q: exit %d, want 2 refusing non-loopback:\n%s", args, code, out)
		}
	}
}
