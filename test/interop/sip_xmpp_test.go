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

// TestSIPXMPPMessages is the point of Crosstalk: alice on XMPP (slixmpp)
// and bob on SIP (sipp) exchange messages through one account model. A chat
// message from XMPP reaches the SIP phone as a MESSAGE; a SIP MESSAGE
// reaches the XMPP client as a chat message.
func TestSIPXMPPMessages(t *testing.T) {
	requirePeer(t, pythonPath)
	if out, err := runPeerErr(t, 30*time.Second, pythonPath, "-c", "import slixmpp"); err != nil {
		t.Fatalf("python3-slixmpp is missing (apt-get install python3-slixmpp): %v\n%s", err, out)
	}
	s := startSIPServer(t)
	bobPort := freePort(t)
	bob := startSipp(t, "message_uas.xml", bobPort, 30*time.Second, nil, "-m", "1")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "bob", bobPort)

	host, port, _ := net.SplitHostPort(s.C2S)
	script, _ := filepath.Abs("testdata/slixmpp_sip.py")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := exec.CommandContext(ctx, pythonPath, script, host, port, s.Domain, s.CAFile, sipUsers["alice@localhost"])
	alice.WaitDelay = 2 * time.Second
	out := &syncBuffer{}
	alice.Stdout, alice.Stderr = out, out
	if err := alice.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- alice.Wait() }()
	for i := 0; !strings.Contains(out.String(), "READY"); i++ {
		if i > 400 {
			t.Fatalf("alice did not log in over XMPP:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	bob.wait() // the MESSAGE from XMPP arrived at the SIP phone
	if msgs := bob.logs("messages"); !strings.Contains(msgs, "from-xmpp ✓ 😀") || !strings.Contains(msgs, "From: <sip:alice@localhost>") {
		t.Fatalf("bob's MESSAGE:\n%s", msgs)
	}
	startSipp(t, "message_uac.xml", freePort(t), 20*time.Second, []string{"bob;alice;localhost;from-sip ✓ 🎉"},
		"-au", "bob", "-ap", "bob-password", "-m", "1", s.SIP).wait()
	if err := <-done; err != nil || !strings.Contains(out.String(), "OK") {
		t.Fatalf("alice on XMPP: %v\n%s", err, out.String())
	}
}
