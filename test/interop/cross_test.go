package interop

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The cross-protocol rows of issue 6 that earlier tests do not cover
// (TestSIPXMPPMessages, TestXMPPToSIP, TestSIPToXMPP, TestSIPPresenceToXMPP,
// TestSIPSubscribeApprovedOnXMPP cover the others): slixmpp on one side,
// sipp on the other, emoji in every body.

// slixmppCross runs testdata/slixmpp_cross.py as user in a mode and waits
// until it has logged in.
type slixmppCross struct {
	t    *testing.T
	out  *syncBuffer
	done chan error
}

func startSlixmppCross(t *testing.T, s *server, user, mode, body string) *slixmppCross {
	t.Helper()
	requirePeer(t, pythonPath)
	if out, err := runPeerErr(t, 30*time.Second, pythonPath, "-c", "import slixmpp"); err != nil {
		t.Fatalf("python3-slixmpp is missing (apt-get install python3-slixmpp): %v\n%s", err, out)
	}
	host, port, _ := net.SplitHostPort(s.C2S)
	script, _ := filepath.Abs("testdata/slixmpp_cross.py")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, pythonPath, script, host, port, s.Domain, s.CAFile, user, sipUsers[user+"@localhost"], mode, body)
	cmd.WaitDelay = 2 * time.Second
	c := &slixmppCross{t: t, out: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- cmd.Wait() }()
	for i := 0; !strings.Contains(c.out.String(), "READY"); i++ {
		if i > 400 || strings.Contains(c.out.String(), "FAIL") {
			t.Fatalf("%s did not log in over XMPP:\n%s", user, c.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// wait waits for the script to end with OK and returns its output.
func (c *slixmppCross) wait() string {
	c.t.Helper()
	if err := <-c.done; err != nil || !strings.Contains(c.out.String(), "OK") {
		c.t.Fatalf("slixmpp: %v\n%s", err, c.out.String())
	}
	return c.out.String()
}

// TestCrossSentCarbonFromPhone: what alice sends from her phone (a sipp
// MESSAGE to bob) shows on her XMPP client, which enabled carbons, as an
// XEP-0280 <sent/> carbon of a message from alice to bob.
func TestCrossSentCarbonFromPhone(t *testing.T) {
	s := startSIPServer(t)
	const body = "vom Handy 📱 gesendet ✓"
	alice := startSlixmppCross(t, s, "alice", "carbon", body)
	startSipp(t, "message_uac.xml", freePort(t), 20*time.Second, []string{"alice;bob;localhost;" + body},
		"-au", "alice", "-ap", sipUsers["alice@localhost"], "-m", "1", s.SIP).wait()
	if out := alice.wait(); !strings.Contains(out, "CARBON from=alice@localhost to=bob@localhost") {
		t.Fatalf("carbon:\n%s", out)
	}
}

// TestCrossBusyPhoneBouncesToXMPP: bob's phone (sipp) refuses alice's
// message with 486 Busy Here; alice's XMPP client gets the message back as
// an error with RFC 7247 §6.2's condition for 486, recipient-unavailable.
func TestCrossBusyPhoneBouncesToXMPP(t *testing.T) {
	s := startSIPServer(t)
	bobPort := freePort(t)
	bob := startSipp(t, "message_uas_busy.xml", bobPort, 30*time.Second, nil, "-m", "1")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "bob", bobPort)
	alice := startSlixmppCross(t, s, "alice", "bounce", "bist du da? 🙋")
	bob.wait()
	if out := alice.wait(); !strings.Contains(out, "ERROR recipient-unavailable wait") {
		t.Fatalf("alice's error:\n%s", out)
	}
}

// TestCrossOfflineToPhoneOnce: alice (slixmpp) writes to bob while he is
// offline everywhere; bob's phone (sipp) registers and gets the message,
// once; bob then logs in over XMPP, does not get it again, and finds it in
// his archive (XEP-0313).
func TestCrossOfflineToPhoneOnce(t *testing.T) {
	s := startSIPServer(t)
	const body = "gute Nacht 🌙 — bis morgen"
	startSlixmppCross(t, s, "alice", "send", body).wait()
	bobPort := freePort(t)
	phone := startSipp(t, "message_uas.xml", bobPort, 8*time.Second, nil, "-m", "2")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "bob", bobPort)
	<-phone.done // -m 2 with one message to get: it ends by its timeout
	if n := strings.Count(phone.logs("messages"), body); n != 1 {
		t.Fatalf("bob's phone got the message %d times:\n%s", n, phone.logs("messages"))
	}
	out := startSlixmppCross(t, s, "bob", "mam", body).wait()
	if !strings.Contains(out, "ARCHIVED 1") || !strings.Contains(out, "LIVE 0") {
		t.Fatalf("bob on XMPP:\n%s", out)
	}
}
