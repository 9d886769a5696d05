package interop

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestXMPPToSIP sends a chat message from an XMPP client (go-sendxmpp) to
// an account whose only endpoint is a SIP phone (baresip, registered): the
// hub maps it to a SIP MESSAGE with the same body.
func TestXMPPToSIP(t *testing.T) {
	s := startServer(t, serverOptions{Extra: baresipExtra, Users: sipUsers})
	bob := startBaresip(t, s, "bob", 8*time.Second)
	bob.waitFor("200 OK (Crosstalk)")
	send := exec.Command(requirePeer(t, "go-sendxmpp"), "-j", s.C2S, "-u", "alice@localhost", "-p", sipUsers["alice@localhost"], "bob@localhost")
	send.Env = append(os.Environ(), "SSL_CERT_FILE="+s.CAFile, "HOME="+t.TempDir())
	send.Stdin = strings.NewReader("from XMPP to SIP — grüß dich\n")
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("go-sendxmpp: %v\n%s", err, out)
	}
	out := bob.wait()
	if !strings.Contains(out, "from XMPP to SIP — grüß dich") || !strings.Contains(out, "MESSAGE sip:") {
		t.Fatalf("baresip did not get the message:\n%s", out)
	}
}

// TestSIPToXMPP sends a SIP MESSAGE (sipp) to an account whose only
// endpoint is an XMPP client (go-sendxmpp listening): it arrives as a chat
// message.
func TestSIPToXMPP(t *testing.T) {
	s := startSIPServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	listen := exec.CommandContext(ctx, requirePeer(t, "go-sendxmpp"), "-l", "-j", s.C2S, "-u", "bob@localhost", "-p", sipUsers["bob@localhost"], "-r", "phone")
	listen.Env = append(os.Environ(), "SSL_CERT_FILE="+s.CAFile, "HOME="+t.TempDir())
	listen.WaitDelay = 2 * time.Second
	var out syncBuffer
	listen.Stdout, listen.Stderr = &out, &out
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = listen.Process.Kill(); _ = listen.Wait() }()
	for i := 0; !strings.Contains(s.Logs(), "bob@localhost/phone"); i++ {
		if i > 200 {
			t.Fatalf("the XMPP listener did not bind:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // its initial presence
	startSipp(t, "message_uac.xml", freePort(t), 20*time.Second, []string{"alice;bob;localhost;hello-from-sip"},
		"-au", "alice", "-ap", sipUsers["alice@localhost"], "-m", "1", s.SIP).wait()
	for i := 0; !strings.Contains(out.String(), "hello-from-sip"); i++ {
		if i > 200 {
			t.Fatalf("the XMPP client did not print the SIP message:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSIPPresenceToXMPP: alice and bob subscribe to each other over XMPP
// (slixmpp); bob leaves XMPP and registers a SIP phone (baresip); alice
// sees bob available again, from the phone's resource.
func TestSIPPresenceToXMPP(t *testing.T) {
	requirePeer(t, pythonPath)
	s := startServer(t, serverOptions{Extra: baresipExtra, Users: sipUsers})
	host, port, _ := net.SplitHostPort(s.C2S)
	script, _ := filepath.Abs("testdata/slixmpp_sip_presence.py")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	watch := exec.CommandContext(ctx, pythonPath, script, host, port, s.Domain, s.CAFile, sipUsers["alice@localhost"], sipUsers["bob@localhost"])
	watch.WaitDelay = 2 * time.Second
	var out syncBuffer
	watch.Stdout, watch.Stderr = &out, &out
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- watch.Wait() }()
	for i := 0; !strings.Contains(out.String(), "OK subscribed"); i++ {
		if i > 600 || strings.Contains(out.String(), "FAIL") {
			t.Fatalf("slixmpp did not subscribe:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	bob := startBaresip(t, s, "bob", 40*time.Second)
	if err := <-done; err != nil || !strings.Contains(out.String(), "OK sip-presence") {
		t.Fatalf("alice did not see bob's SIP phone: %v\n%s\nbaresip:\n%s", err, out.String(), bob.out.String())
	}
}
