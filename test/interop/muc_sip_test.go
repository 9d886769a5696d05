package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlixmppSippRoom puts a SIP occupant (sipp, bob) and slixmpp
// occupants (alice, carol) in one room: alice creates it, sets the subject
// and talks; bob joins by posting non-ASCII text to
// sip:sipraum@conference.localhost and is seen by the XMPP occupants as an
// ordinary occupant; alice answers, and bob receives the history, the
// subject and the answer as MESSAGEs from the room URI with alice's
// nickname as display name and body prefix; carol joins and gets bob's
// message as history; alice kicks bob (bob is told), bans him, and finds
// his message in the room's archive (XEP-0313) under the id of the
// live message's XEP-0359 stanza-id; bob's next MESSAGE gets
// 403. Missing slixmpp or sipp fails the test.
func TestSlixmppSippRoom(t *testing.T) {
	requirePeer(t, pythonPath)
	requirePeer(t, "sipp")
	if out, err := runPeerErr(t, 30*time.Second, pythonPath, "-c", "import slixmpp"); err != nil {
		t.Fatalf("python3-slixmpp is missing (apt-get install python3-slixmpp): %v\n%s", err, out)
	}
	const pw = "interop-muc-sip-1"
	users := map[string]string{"alice@localhost": pw, "carol@localhost": pw}
	for k, v := range sipUsers {
		if _, ok := users[k]; !ok {
			users[k] = v
		}
	}
	s := startServer(t, serverOptions{Extra: sipExtra, Users: users})
	host, port, _ := net.SplitHostPort(s.C2S)
	script, _ := filepath.Abs("testdata/slixmpp_muc_sip.py")

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	py := exec.CommandContext(ctx, pythonPath, script, host, port, s.Domain, s.CAFile, pw)
	py.WaitDelay = 2 * time.Second
	stdin, err := py.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := py.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	py.Stderr = &stderr
	if err := py.Start(); err != nil {
		t.Fatalf("starting slixmpp: %v", err)
	}
	lines := make(chan string, 64)
	var out syncBuffer
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(&out, sc.Text())
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(want string) {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("slixmpp ended before %q:\n%s\n%s", want, out.String(), stderr.String())
				}
				if l == want {
					return
				}
				if strings.HasPrefix(l, "FAIL") {
					t.Fatalf("slixmpp: %s\n%s", l, stderr.String())
				}
			case <-timeout:
				t.Fatalf("slixmpp did not say %q:\n%s\n%s", want, out.String(), stderr.String())
			}
		}
	}

	waitLine("READY sip")
	// bob's phone: a sipp UAS at bobPort takes the room's five MESSAGEs
	// (joined notice, history, subject, alice's answer, kick notice).
	bobPort := freePort(t)
	bob := startSipp(t, "message_uas.xml", bobPort, 60*time.Second, nil, "-m", "5")
	time.Sleep(200 * time.Millisecond)
	registerSipp(t, s, "bob", bobPort)
	const sipText = "Grüße vom Telefon 📞 Привет"
	startSipp(t, "room_message_uac.xml", freePort(t), 20*time.Second, []string{"bob;sipraum;localhost;" + sipText},
		"-au", "bob", "-ap", sipUsers["bob@localhost"], "-m", "1", s.SIP).wait()
	waitLine("READY banned")
	startSipp(t, "room_message_forbidden.xml", freePort(t), 20*time.Second, []string{"bob;sipraum;localhost;lass mich rein"},
		"-au", "bob", "-ap", sipUsers["bob@localhost"], "-m", "1", s.SIP).wait()
	_, _ = io.WriteString(stdin, "done\n")
	if err := py.Wait(); err != nil {
		t.Fatalf("slixmpp: %v\n%s\n%s", err, out.String(), stderr.String())
	}
	for _, step := range []string{"join", "talk", "history", "kick", "ban", "archive"} {
		if !strings.Contains(out.String(), "OK "+step+"\n") {
			t.Errorf("step %s did not pass:\n%s", step, out.String())
		}
	}
	bob.wait()
	got := bob.logs("messages")
	for _, want := range []string{
		"*** You joined sipraum@conference.localhost as bob (participant)",
		"Alice: Hallo aus XMPP ☕ 你好",
		"*** Subject: Thema: SIP und XMPP 🍵",
		"Alice: Antwort an bob ✓",
		"*** You were kicked from sipraum@conference.localhost (Pause)",
		`From: "Alice" <sip:sipraum@conference.localhost>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("bob's phone did not get %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "bob: "+sipText) {
		t.Errorf("bob got his own message back:\n%s", got)
	}
}
