package interop

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlixmppMUC drives the room service (XEP-0045) with slixmpp occupants:
// alice creates and configures a room, bob and alice talk both ways with
// non-ASCII text, alice sets the subject, carol joins and gets history and
// subject, self-pings (XEP-0410), is kicked, invited again through the room
// and declines, and is invited directly (XEP-0249); bob is banned and
// cannot rejoin; alice queries the room's archive (XEP-0313). After a
// restart the persistent room keeps its name, subject, history, owner and
// ban. The certificate is verified against the server's CA file. A missing
// slixmpp fails the test.
func TestSlixmppMUC(t *testing.T) {
	requirePeer(t, pythonPath)
	if out, err := runPeerErr(t, 30*time.Second, pythonPath, "-c", "import slixmpp"); err != nil {
		t.Fatalf("python3-slixmpp is missing (apt-get install python3-slixmpp): %v\n%s", err, out)
	}
	const pw = "interop-muc-1"
	s := startServer(t, serverOptions{Users: map[string]string{
		"alice@localhost": pw, "bob@localhost": pw, "carol@localhost": pw,
	}})
	host, port, _ := net.SplitHostPort(s.C2S)
	script, _ := filepath.Abs("testdata/slixmpp_muc.py")
	out := runPeer(t, 150*time.Second, pythonPath, script, host, port, s.Domain, s.CAFile, pw)
	for _, step := range []string{"join", "talk", "subject", "history", "selfping", "kick", "invite", "ban", "archive"} {
		if !strings.Contains(out, "OK "+step+"\n") {
			t.Errorf("step %s did not pass:\n%s", step, out)
		}
	}
	if t.Failed() {
		return
	}
	restart(t, s)
	if out := runPeer(t, 60*time.Second, pythonPath, script, host, port, s.Domain, s.CAFile, pw, "restart"); !strings.Contains(out, "OK restart\n") {
		t.Errorf("the room did not survive a restart:\n%s", out)
	}
}

// restart stops the server and starts it again on the same configuration,
// data directory and ports; the test's cleanup stops the new process.
func restart(t *testing.T, s *server) {
	t.Helper()
	s.stop(t)
	s.cmd = exec.Command(binary, "serve", "--config", s.Config)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.done = make(chan error, 1)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("restarting crosstalk: %v", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	s.waitHealthy(t)
}

// TestSlixmppMUCLocked: with rooms.lock_new, a room slixmpp creates is
// locked (item-not-found to others) until its owner accepts it as an
// instant room, and cancelling the initial configuration destroys it
// (XEP-0045 §10.1). A missing slixmpp fails the test.
func TestSlixmppMUCLocked(t *testing.T) {
	requirePeer(t, pythonPath)
	if out, err := runPeerErr(t, 30*time.Second, pythonPath, "-c", "import slixmpp"); err != nil {
		t.Fatalf("python3-slixmpp is missing (apt-get install python3-slixmpp): %v\n%s", err, out)
	}
	const pw = "interop-muc-lock-1"
	s := startServer(t, serverOptions{Extra: "[rooms]\nlock_new = true\n", Users: map[string]string{"alice@localhost": pw, "bob@localhost": pw}})
	host, port, _ := net.SplitHostPort(s.C2S)
	script, _ := filepath.Abs("testdata/slixmpp_muc_lock.py")
	out := runPeer(t, 90*time.Second, pythonPath, script, host, port, s.Domain, s.CAFile, pw)
	for _, step := range []string{"locked", "cancel", "instant"} {
		if !strings.Contains(out, "OK "+step+"\n") {
			t.Errorf("step %s did not pass:\n%s", step, out)
		}
	}
}
