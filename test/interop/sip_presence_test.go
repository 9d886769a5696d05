package interop

import (
	"context"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SIMPLE presence against sipp: PUBLISH (RFC 3903), SUBSCRIBE/NOTIFY for
// presence (RFC 6665, RFC 3856) and presence.winfo (RFC 3857/3858). A
// missing sipp fails the tests.

// subscribeSipp runs subscribe.xml for watcher to the package of
// presentity and returns sipp's message trace, which must hold every want.
func subscribeSipp(t *testing.T, s *server, watcher, presentity, pkg string, want ...string) string {
	t.Helper()
	p := startSipp(t, "subscribe.xml", freePort(t), 20*time.Second, []string{watcher + ";" + presentity + ";localhost;" + pkg},
		"-au", watcher, "-ap", sipUsers[watcher+"@localhost"], "-m", "1", "-trace_logs", s.SIP)
	p.wait()
	msgs := p.logs("messages")
	for _, w := range want {
		if !strings.Contains(msgs, w) {
			t.Fatalf("sipp trace lacks %q:\n%s", w, msgs)
		}
	}
	return msgs
}

func TestSIPPublishSipp(t *testing.T) {
	s := startSIPServer(t)
	startSipp(t, "publish.xml", freePort(t), 20*time.Second, []string{"alice;localhost;out to lunch"},
		"-au", "alice", "-ap", "alice-password", "-m", "1", s.SIP).wait()
}

// TestSIPSubscribePresenceSipp: alice watches her own presence (always
// authorised) while bob publishes nothing; then alice watches bob, who has
// not approved her: pending, and the request reaches bob's roster.
func TestSIPSubscribePresenceSipp(t *testing.T) {
	s := startSIPServer(t)
	subscribeSipp(t, s, "alice", "alice", "presence", "Subscription-State: active;expires=", "<basic>closed</basic>", "Subscription-State: terminated")
	subscribeSipp(t, s, "alice", "bob", "presence", "Subscription-State: pending;expires=", "Subscription-State: terminated")
}

// TestSIPSubscribePublishedSipp: a PUBLISH shows in the NOTIFY of a
// watcher of the same account.
func TestSIPSubscribePublishedSipp(t *testing.T) {
	s := startSIPServer(t)
	pub := startSipp(t, "publish.xml", freePort(t), 20*time.Second, []string{"alice;localhost;in the garden"},
		"-au", "alice", "-ap", "alice-password", "-m", "1", s.SIP)
	time.Sleep(time.Second)
	subscribeSipp(t, s, "alice", "alice", "presence", "<basic>open</basic>", "in the garden", "<rpid:away/>")
	pub.wait()
}

// TestSIPWinfoSipp: bob's pending request shows in alice's watcher info.
func TestSIPWinfoSipp(t *testing.T) {
	s := startSIPServer(t)
	subscribeSipp(t, s, "bob", "alice", "presence", "Subscription-State: pending")
	subscribeSipp(t, s, "alice", "alice", "presence.winfo", "Content-Type: application/watcherinfo+xml", `status="pending">sip:bob@localhost</watcher>`)
}

// TestSIPApproveWithXCAPSipp: bob's SUBSCRIBE to alice is pending until
// alice allows him in her XCAP pres-rules (with curl); then his
// subscription becomes active with a NOTIFY.
func TestSIPApproveWithXCAPSipp(t *testing.T) {
	s := startSIPServer(t)
	p := startSipp(t, "subscribe_approve.xml", freePort(t), 30*time.Second, []string{"bob;alice;localhost;presence"},
		"-au", "bob", "-ap", "bob-password", "-m", "1", "-trace_logs", s.SIP)
	time.Sleep(2 * time.Second) // the request is on alice's roster
	rules := `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
 <rule id="a"><conditions><identity><one id="sip:bob@localhost"/></identity></conditions><actions><pr:sub-handling>allow</pr:sub-handling></actions></rule>
</ruleset>`
	if code, _, body := curlXCAP(t, s, "alice", "alice-password", "PUT", "pres-rules/users/sip:alice@localhost/index", "application/auth-policy+xml", rules); code != 200 {
		t.Fatalf("PUT pres-rules: %d %s", code, body)
	}
	p.wait()
	msgs := p.logs("messages")
	for _, w := range []string{"Subscription-State: pending", "Subscription-State: active", "<basic>closed</basic>", "Subscription-State: terminated"} {
		if !strings.Contains(msgs, w) {
			t.Fatalf("sipp trace lacks %q:\n%s", w, msgs)
		}
	}
}

// TestSIPResourceListSipp: alice's buddy list (RFC 4662), filled through
// XCAP resource-lists with curl, gives a multipart/related NOTIFY with
// RLMI naming bob (sipp over TCP: the NOTIFY is larger than UDP allows).
func TestSIPResourceListSipp(t *testing.T) {
	s := startSIPServer(t)
	entry := `resource-lists/users/sip:alice@localhost/index/~~/resource-lists/list%5B@name=%22roster%22%5D/entry%5B@uri=%22sip:bob@localhost%22%5D`
	if code, _, body := curlXCAP(t, s, "alice", "alice-password", "PUT", entry, "application/xcap-el+xml", `<entry uri="sip:bob@localhost"/>`); code != 201 {
		t.Fatalf("PUT entry: %d %s", code, body)
	}
	subscribeSippTCP(t, s, "alice", "alice-buddies", "presence",
		"Content-Type: multipart/related", `type="application/rlmi+xml"`, `<list xmlns="urn:ietf:params:xml:ns:rlmi"`,
		`fullState="true"`, `<resource uri="sip:bob@localhost">`, "Require: eventlist")
}

// subscribeSippTCP is subscribeSipp over TCP.
func subscribeSippTCP(t *testing.T, s *server, watcher, presentity, pkg string, want ...string) {
	t.Helper()
	p := startSipp(t, "subscribe.xml", freePort(t), 20*time.Second, []string{watcher + ";" + presentity + ";localhost;" + pkg},
		"-au", watcher, "-ap", sipUsers[watcher+"@localhost"], "-m", "1", "-t", "t1", "-trace_logs", s.SIP)
	p.wait()
	msgs := p.logs("messages")
	for _, w := range want {
		if !strings.Contains(msgs, w) {
			t.Fatalf("sipp trace lacks %q:\n%s", w, msgs)
		}
	}
}

// TestSIPSubscribeApprovedOnXMPP is the SIP presence point of Crosstalk:
// bob's SIP SUBSCRIBE to alice is a subscription request alice sees on
// XMPP (slixmpp); she approves it there, and bob's subscription becomes
// active with a NOTIFY showing her XMPP presence (dnd → RPID busy).
func TestSIPSubscribeApprovedOnXMPP(t *testing.T) {
	requirePeer(t, pythonPath)
	s := startSIPServer(t)
	host, port, _ := net.SplitHostPort(s.C2S)
	script, _ := filepath.Abs("testdata/slixmpp_presence.py")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := exec.CommandContext(ctx, pythonPath, script, host, port, s.Domain, s.CAFile, sipUsers["alice@localhost"])
	alice.WaitDelay = 2 * time.Second
	out := &syncBuffer{}
	alice.Stdout, alice.Stderr = out, out
	approve, err := alice.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer approve.Close()
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
	p := startSipp(t, "subscribe_approve.xml", freePort(t), 30*time.Second, []string{"bob;alice;localhost;presence"},
		"-au", "bob", "-ap", "bob-password", "-m", "1", "-trace_logs", s.SIP)
	// alice approves once bob has the NOTIFY of the pending state: an
	// approval that overtook it would rightly make the first NOTIFY active
	// (RFC 6665 §4.2.1.2: the current state), and the pending one is what
	// this test checks.
	for i := 0; !strings.Contains(out.String(), "ASKED") || !strings.Contains(p.logs("messages"), "Subscription-State: pending"); i++ {
		if i > 300 {
			t.Fatalf("no subscription request at alice or no pending NOTIFY at bob in 15 s:\nalice:\n%s\nbob:\n%s", out.String(), p.logs("messages"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := io.WriteString(approve, "approve\n"); err != nil {
		t.Fatal(err)
	}
	p.wait()
	if err := <-done; err != nil || !strings.Contains(out.String(), "OK") {
		t.Fatalf("alice on XMPP: %v\n%s", err, out.String())
	}
	msgs := p.logs("messages")
	for _, w := range []string{"Subscription-State: pending", "Subscription-State: active", "<basic>open</basic>", "busy on xmpp", "<rpid:busy/>"} {
		if !strings.Contains(msgs, w) {
			t.Fatalf("sipp trace lacks %q:\n%s", w, msgs)
		}
	}
}
