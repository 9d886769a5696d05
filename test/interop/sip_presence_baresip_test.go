package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startBaresipPresence starts a headless baresip like startBaresip, with
// its presence module: it publishes its own status (pubint) and
// subscribes to the contacts given (presence=p2p).
func startBaresipPresence(t *testing.T, s *server, user string, quitAfter time.Duration, contacts ...string) *baresip {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`poll_method	epoll
sip_listen	127.0.0.1:%d
module_path	/usr/lib/baresip/modules
module	g711.so
module_app	account.so
module_app	contact.so
module_app	presence.so
module_app	menu.so
`, baresipPort(t))
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	account := fmt.Sprintf("<sip:%s@localhost>;auth_pass=%s;outbound=\"sip:%s\";regint=60;pubint=60\n", user, sipUsers[user+"@localhost"], s.SIP)
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o600); err != nil {
		t.Fatal(err)
	}
	var cl strings.Builder
	for _, c := range contacts {
		fmt.Fprintf(&cl, "\"%s\" <sip:%s@localhost>;presence=p2p\n", c, c)
	}
	if err := os.WriteFile(filepath.Join(dir, "contacts"), []byte(cl.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), quitAfter+10*time.Second)
	b := &baresip{t: t, out: &syncBuffer{}, done: make(chan error, 1)}
	b.cmd = exec.CommandContext(ctx, requirePeer(t, "baresip"), "-f", dir, "-s", "-t", fmt.Sprint(int(quitAfter/time.Second)))
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
	})
	return b
}

// TestSIPBaresipPresence: baresip (alice) publishes its own status and
// watches bob, who lets her (XCAP pres-rules with curl); a sipp PUBLISH by
// bob reaches her in a NOTIFY once the rate limit allows one.
func TestSIPBaresipPresence(t *testing.T) {
	s := startServer(t, serverOptions{Extra: baresipExtra, Users: sipUsers})
	rules := `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
 <rule id="a"><conditions><identity><one id="sip:alice@localhost"/></identity></conditions><actions><pr:sub-handling>allow</pr:sub-handling></actions></rule>
</ruleset>`
	if code, _, body := curlXCAP(t, s, "bob", "bob-password", "PUT", "pres-rules/users/sip:bob@localhost/index", "application/auth-policy+xml", rules); code != 200 {
		t.Fatalf("PUT pres-rules: %d %s", code, body)
	}
	alice := startBaresipPresence(t, s, "alice", 18*time.Second, "bob")
	alice.waitFor("Subscription-State: active")
	time.Sleep(5500 * time.Millisecond) // past the NOTIFY rate limit (RFC 3856 §6.6, 5 s)
	startSipp(t, "publish.xml", freePort(t), 20*time.Second, []string{"bob;localhost;baresip sees this"},
		"-au", "bob", "-ap", "bob-password", "-m", "1", s.SIP).wait()
	out := alice.wait()
	for _, w := range []string{"PUBLISH sip:alice@localhost", "SIP-ETag:", "baresip sees this"} {
		if !strings.Contains(out, w) {
			t.Fatalf("baresip output lacks %q:\n%s", w, out)
		}
	}
}
