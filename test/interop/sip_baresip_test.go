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

// baresipExtra offers MD5 only: libre in baresip 1.0 refuses a 401/407 as
// soon as any of its challenges names another algorithm (ENOSYS), instead
// of using the one it knows (RFC 8760 §2.4).
const baresipExtra = "[sip]\ndigest_algorithms = [\"MD5\"]\n"

// baresip is one headless baresip with its own config directory, bound to
// 127.0.0.1 (PEERS.md), quitting by itself after quitAfter (-t), with a
// SIP trace (-s) on its output.
type baresip struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

func startBaresip(t *testing.T, s *server, user string, quitAfter time.Duration, commands ...string) *baresip {
	t.Helper()
	return startBaresipContacts(t, s, user, quitAfter, nil, commands...)
}

// startBaresipContacts is startBaresip with the contact module and a
// contacts file naming the given users (the first is the current contact,
// which baresip's message command writes to).
func startBaresipContacts(t *testing.T, s *server, user string, quitAfter time.Duration, contacts []string, commands ...string) *baresip {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`poll_method	epoll
sip_listen	127.0.0.1:%d
module_path	/usr/lib/baresip/modules
module	g711.so
module	ausine.so
module	aufile.so
module_app	account.so
module_app	contact.so
module_app	menu.so
audio_player	aufile,%s
audio_source	ausine,440
`, baresipPort(t), filepath.Join(dir, "out.wav"))
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	account := fmt.Sprintf("<sip:%s@localhost>;auth_pass=%s;outbound=\"sip:%s\";regint=60\n", user, sipUsers[user+"@localhost"], s.SIP)
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o600); err != nil {
		t.Fatal(err)
	}
	var cl strings.Builder
	for _, c := range contacts {
		fmt.Fprintf(&cl, "\"%s\" <sip:%s@localhost>\n", c, c)
	}
	if err := os.WriteFile(filepath.Join(dir, "contacts"), []byte(cl.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", dir, "-s", "-t", fmt.Sprint(int(quitAfter / time.Second))}
	for _, c := range commands {
		args = append(args, "-e", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), quitAfter+10*time.Second)
	b := &baresip{t: t, out: &syncBuffer{}, done: make(chan error, 1)}
	b.cmd = exec.CommandContext(ctx, requirePeer(t, "baresip"), args...)
	b.cmd.Dir = dir
	b.cmd.WaitDelay = 2 * time.Second
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting baresip: %v", err)
	}
	go func() { b.done <- b.cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		// Kill is safe beside the Wait goroutine (ProcessState is not:
		// reading it raced with Wait when a test failed early).
		_ = b.cmd.Process.Kill()
		if t.Failed() { // its SIP trace (-s) shows what it sent and got
			t.Logf("baresip %s:\n%s", user, b.out.String())
		}
	})
	return b
}

// baresipPort returns a port free for TCP and UDP whose next port is free
// too: baresip listens for SIP over TLS on the port after sip_listen's, and
// a busy one makes its start fail ("SIP/TLS transport failed").
func baresipPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freePort(t)
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1)); err == nil {
			ln.Close()
			return p
		}
	}
	t.Fatal("no port pair free for baresip in 50 tries")
	return 0
}

// waitFor polls baresip's output for s for up to 15 s.
func (b *baresip) waitFor(s string) {
	b.t.Helper()
	for i := 0; i < 300; i++ {
		if strings.Contains(b.out.String(), s) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("baresip never printed %q:\n%s", s, b.out.String())
}

func (b *baresip) wait() string {
	b.t.Helper()
	if err := <-b.done; err != nil {
		b.t.Fatalf("baresip: %v\n%s", err, b.out.String())
	}
	return b.out.String()
}

// TestSIPBaresipMessage: baresip registers with digest and receives a
// MESSAGE that sipp sends through the server.
func TestSIPBaresipMessage(t *testing.T) {
	s := startServer(t, serverOptions{Extra: baresipExtra, Users: sipUsers})
	bob := startBaresip(t, s, "bob", 10*time.Second)
	bob.waitFor("200 OK (Crosstalk)")
	startSipp(t, "message_uac.xml", freePort(t), 20*time.Second, []string{"alice;bob;localhost;hello-baresip"},
		"-au", "alice", "-ap", "alice-password", "-m", "1", s.SIP).wait()
	out := bob.wait()
	if !strings.Contains(out, "hello-baresip") || !strings.Contains(out, "CSeq: 1 MESSAGE") || !strings.Contains(out, "Server: baresip") {
		t.Fatalf("baresip did not take the MESSAGE:\n%s", out)
	}
}

// TestSIPBaresipCall: baresip calls a sipp UAS through the proxy, with
// digest, and hangs up when it quits; sipp checks 180/200/ACK/BYE.
func TestSIPBaresipCall(t *testing.T) {
	s := startServer(t, serverOptions{Extra: baresipExtra, Users: sipUsers})
	bobPort := freePort(t)
	bob := startSipp(t, "call_uas.xml", bobPort, 20*time.Second, nil, "-m", "1")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "bob", bobPort)
	alice := startBaresip(t, s, "alice", 6*time.Second, "/dial sip:bob@localhost")
	out := alice.wait()
	bob.wait()
	if !bytes.Contains([]byte(out), []byte("Proxy Authentication Required")) {
		t.Fatalf("the call was not authenticated:\n%s", out)
	}
}
