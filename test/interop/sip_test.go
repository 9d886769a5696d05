package interop

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sipExtra makes the server offer MD5 before SHA-256: sipp 3.6.1 reads only
// the first challenge and knows only MD5 (RFC 8760 wants clients to pick the
// first they support; sipp does not).
const sipExtra = "[sip]\ndigest_algorithms = [\"MD5\", \"SHA-256\"]\n"

// sipUsers are created on every SIP interop server.
var sipUsers = map[string]string{"alice@localhost": "alice-password", "bob@localhost": "bob-password"}

// sippScenario returns the path of a scenario in test/interop/sipp, or
// name itself when it is absolute.
func sippScenario(t *testing.T, name string) string {
	t.Helper()
	if filepath.IsAbs(name) {
		return name
	}
	p, err := filepath.Abs(filepath.Join("sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sippProc is one sipp process with its own working directory for logs.
type sippProc struct {
	t    *testing.T
	dir  string
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// startSipp starts sipp with a scenario, an injection file of lines and a
// local port; it is bounded by timeout (sipp's own -timeout and a kill).
func startSipp(t *testing.T, scenario string, port int, timeout time.Duration, lines []string, args ...string) *sippProc {
	t.Helper()
	p := &sippProc{t: t, dir: t.TempDir(), done: make(chan error, 1)}
	all := []string{"-sf", sippScenario(t, scenario), "-i", "127.0.0.1", "-p", fmt.Sprint(port),
		"-nostdin", "-trace_err", "-trace_msg", "-timeout", fmt.Sprintf("%ds", int(timeout/time.Second)), "-timeout_error"}
	if len(lines) > 0 {
		inf := filepath.Join(p.dir, "fields.csv")
		if err := os.WriteFile(inf, []byte("SEQUENTIAL\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		all = append(all, "-inf", inf)
	}
	all = append(all, args...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	p.cmd = exec.CommandContext(ctx, requirePeer(t, "sipp"), all...)
	p.cmd.Dir = p.dir
	p.cmd.WaitDelay = 2 * time.Second
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting sipp: %v", err)
	}
	go func() { p.done <- p.cmd.Wait(); cancel() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() }) // safe beside Wait, unlike ProcessState
	return p
}

// wait waits for sipp to end and fails the test, with sipp's error log,
// when it did not end well.
func (p *sippProc) wait() {
	p.t.Helper()
	if err := <-p.done; err != nil {
		p.t.Fatalf("sipp %s: %v\n%s\n%s", filepath.Base(p.cmd.Args[2]), err, p.logs("errors"), p.out.String())
	}
}

// logs concatenates sipp's log files of a kind ("errors", "messages").
func (p *sippProc) logs(kind string) string {
	files, _ := filepath.Glob(filepath.Join(p.dir, "*_"+kind+".log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

// freePort returns a loopback port free for UDP and TCP at the time.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(freeTCPAndUDP(t))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(port, &n)
	return n
}

// registerSipp registers user's contact at contactPort with sipp.
func registerSipp(t *testing.T, s *server, user string, contactPort int) {
	t.Helper()
	startSipp(t, "register.xml", freePort(t), 20*time.Second, []string{fmt.Sprintf("%s;%d;localhost", user, contactPort)},
		"-au", user, "-ap", sipUsers[user+"@localhost"], "-m", "1", s.SIP).wait()
}

func startSIPServer(t *testing.T) *server {
	return startServer(t, serverOptions{Extra: sipExtra, Users: sipUsers})
}

func TestSIPRegisterSipp(t *testing.T) {
	s := startSIPServer(t)
	registerSipp(t, s, "alice", freePort(t)) // sipp fails unless 401 then 200
}

func TestSIPMessageSipp(t *testing.T) {
	s := startSIPServer(t)
	bobPort := freePort(t)
	bob := startSipp(t, "message_uas.xml", bobPort, 20*time.Second, nil, "-m", "1")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "bob", bobPort)
	startSipp(t, "message_uac.xml", freePort(t), 20*time.Second, []string{"alice;bob;localhost;hello from sipp"},
		"-au", "alice", "-ap", "alice-password", "-m", "1", s.SIP).wait()
	bob.wait()
	if !strings.Contains(bob.logs("messages"), "hello from sipp") {
		t.Fatalf("bob did not get the body:\n%s", bob.logs("messages"))
	}
}

func TestSIPOfflineMessageSipp(t *testing.T) {
	s := startSIPServer(t)
	// bob is not registered: both messages are stored (202).
	startSipp(t, "message_uac.xml", freePort(t), 20*time.Second,
		[]string{"alice;bob;localhost;offline-one", "alice;bob;localhost;offline-two"},
		"-au", "alice", "-ap", "alice-password", "-m", "2", "-l", "1", s.SIP).wait()
	bobPort := freePort(t)
	bob := startSipp(t, "message_uas.xml", bobPort, 20*time.Second, nil, "-m", "2")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "bob", bobPort)
	bob.wait()
	msgs := bob.logs("messages")
	one, two := strings.Index(msgs, "offline-one"), strings.Index(msgs, "offline-two")
	if one < 0 || two < 0 || two < one {
		t.Fatalf("offline messages not delivered in order:\n%s", msgs)
	}
	if strings.Count(msgs, "offline-one") != 1 || strings.Count(msgs, "offline-two") != 1 {
		t.Fatalf("offline messages delivered more than once:\n%s", msgs)
	}
}

func TestSIPCallSipp(t *testing.T) {
	s := startSIPServer(t)
	bobPort := freePort(t)
	bob := startSipp(t, "call_uas.xml", bobPort, 20*time.Second, nil, "-m", "1")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "bob", bobPort)
	startSipp(t, "call_uac.xml", freePort(t), 20*time.Second, []string{"alice;bob;localhost"},
		"-au", "alice", "-ap", "alice-password", "-m", "1", s.SIP).wait()
	bob.wait()
}

func TestSIPCancelSipp(t *testing.T) {
	s := startSIPServer(t)
	bobPort := freePort(t)
	bob := startSipp(t, "cancel_uas.xml", bobPort, 20*time.Second, nil, "-m", "1")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "bob", bobPort)
	startSipp(t, "cancel_uac.xml", freePort(t), 20*time.Second, []string{"alice;bob;localhost"},
		"-au", "alice", "-ap", "alice-password", "-m", "1", s.SIP).wait()
	bob.wait()
}
