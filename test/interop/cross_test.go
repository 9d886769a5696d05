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

// TestCrossReceivedCarbonFromPhone: bob (sipp) writes to alice's bare
// address; her phone (sipp) is the only endpoint the routing policy picks
// (her XMPP client, slixmpp, has priority -1), and her XMPP client, with
// carbons enabled, sees the message as an XEP-0280 <received/> carbon.
func TestCrossReceivedCarbonFromPhone(t *testing.T) {
	s := startSIPServer(t)
	const body = "nur fürs Handy 📱 — und die Kopie"
	phonePort := freePort(t)
	phone := startSipp(t, "message_uas.xml", phonePort, 30*time.Second, nil, "-m", "1")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "alice", phonePort)
	alice := startSlixmppCross(t, s, "alice", "received", body)
	time.Sleep(300 * time.Millisecond) // her priority -1 is in
	startSipp(t, "message_uac.xml", freePort(t), 20*time.Second, []string{"bob;alice;localhost;" + body},
		"-au", "bob", "-ap", sipUsers["bob@localhost"], "-m", "1", s.SIP).wait()
	phone.wait()
	if out := alice.wait(); !strings.Contains(out, "RECEIVED from=bob@localhost to=alice@localhost") {
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

// TestCrossXMPPShowToSIPWatcher: alice's XMPP client (slixmpp) is away
// with a status; her SIP watcher (sipp, her own presence) sees RPID
// <away/> and the status as the note (RFC 8048); when the XMPP client
// disconnects, the watcher gets a NOTIFY with <basic>closed</basic>.
// (dnd → <busy/> is TestSIPSubscribeApprovedOnXMPP.)
func TestCrossXMPPShowToSIPWatcher(t *testing.T) {
	s := startSIPServer(t)
	alice := startSlixmppCross(t, s, "alice", "show", "away|am Strand 🏖")
	time.Sleep(300 * time.Millisecond) // the presence is in
	p := startSipp(t, "subscribe_until_closed.xml", freePort(t), 30*time.Second, []string{"alice;alice;localhost;presence"},
		"-au", "alice", "-ap", sipUsers["alice@localhost"], "-m", "1", "-trace_logs", s.SIP)
	alice.wait()
	p.wait()
	msgs := p.logs("messages")
	for _, w := range []string{"Subscription-State: active", "<basic>open</basic>", "<rpid:away/>", "am Strand 🏖", "<basic>closed</basic>", "Subscription-State: terminated"} {
		if !strings.Contains(msgs, w) {
			t.Fatalf("sipp trace lacks %q:\n%s", w, msgs)
		}
	}
	if strings.Index(msgs, "<rpid:away/>") > strings.Index(msgs, "<basic>closed</basic>") {
		t.Fatalf("closed before away:\n%s", msgs)
	}
}

// TestCrossSubscriptionApprovedBySIPSide: bob on XMPP (slixmpp) asks for
// alice's presence; alice, who has only SIP tools, approves him in her
// XCAP pres-rules (curl); bob sees "subscribed". Then alice's phone (sipp)
// publishes away and busy: bob sees show away and dnd (RFC 8048, SIP to
// XMPP). (Asked from SIP and approved on XMPP is
// TestSIPSubscribeApprovedOnXMPP.)
func TestCrossSubscriptionApprovedBySIPSide(t *testing.T) {
	s := startSIPServer(t)
	bob := startSlixmppCross(t, s, "bob", "watch", "-")
	for i := 0; !strings.Contains(bob.out.String(), "ASKED"); i++ {
		if i > 200 {
			t.Fatalf("bob did not ask:\n%s", bob.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // the request is on alice's roster
	rules := `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
 <rule id="a"><conditions><identity><one id="sip:bob@localhost"/></identity></conditions><actions><pr:sub-handling>allow</pr:sub-handling></actions></rule>
</ruleset>`
	if code, _, body := curlXCAP(t, s, "alice", "alice-password", "PUT", "pres-rules/users/sip:alice@localhost/index", "application/auth-policy+xml", rules); code != 200 {
		t.Fatalf("PUT pres-rules: %d %s", code, body)
	}
	for i := 0; !strings.Contains(bob.out.String(), "SUBSCRIBED"); i++ {
		if i > 200 {
			t.Fatalf("bob was not approved:\n%s", bob.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	startSipp(t, "publish_activity.xml", freePort(t), 20*time.Second, []string{"alice;localhost;Mittagspause 🍜;away"},
		"-au", "alice", "-ap", sipUsers["alice@localhost"], "-m", "1", s.SIP).wait()
	for i := 0; !strings.Contains(bob.out.String(), "SHOW away"); i++ {
		if i > 200 {
			t.Fatalf("bob did not see away:\n%s", bob.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	startSipp(t, "publish_activity.xml", freePort(t), 20*time.Second, []string{"alice;localhost;im Meeting 📅;busy"},
		"-au", "alice", "-ap", sipUsers["alice@localhost"], "-m", "1", s.SIP).wait()
	out := bob.wait()
	for _, w := range []string{"SHOW away Mittagspause 🍜", "SHOW dnd im Meeting 📅"} {
		if !strings.Contains(out, w) {
			t.Fatalf("bob's output lacks %q:\n%s", w, out)
		}
	}
}

// TestCrossBaresipChat: alice on XMPP (slixmpp) and bob on a softphone
// (baresip) chat both ways with non-ASCII and emoji: alice writes first,
// while bob is offline (the message waits for his registration), and bob
// answers with baresip's own message command to his current contact.
func TestCrossBaresipChat(t *testing.T) {
	s := startServer(t, serverOptions{Extra: baresipExtra, Users: sipUsers})
	const out, in = "Grüß dich, Bob 👋 — ça va?", "Très bien 😀 danke"
	alice := startSlixmppCross(t, s, "alice", "chat", out+"|"+in)
	time.Sleep(500 * time.Millisecond) // stored for bob
	bob := startBaresipContacts(t, s, "bob", 12*time.Second, []string{"alice"}, "/message "+in)
	if got := alice.wait(); !strings.Contains(got, "GOT "+in) {
		t.Fatalf("alice:\n%s", got)
	}
	if got := bob.wait(); !strings.Contains(got, out) || !strings.Contains(got, "MESSAGE sip:alice@localhost") {
		t.Fatalf("baresip:\n%s", got)
	}
}
