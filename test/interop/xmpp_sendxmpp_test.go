package interop

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestGoSendxmpp sends chat messages with go-sendxmpp (Debian's, on the
// go-xmpp library), once over STARTTLS and once over direct TLS
// (XEP-0368), to a go-sendxmpp that listens, each verifying the server's
// certificate against the CA file (SSL_CERT_FILE).
func TestGoSendxmpp(t *testing.T) {
	bin := requirePeer(t, "go-sendxmpp")
	const pw = "sendxmpp-pass-1"
	s := startServer(t, serverOptions{Users: map[string]string{"alice@localhost": pw, "bob@localhost": pw}})
	env := append(os.Environ(), "SSL_CERT_FILE="+s.CAFile, "HOME="+t.TempDir())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	listen := exec.CommandContext(ctx, bin, "-l", "-j", s.C2S, "-u", "bob@localhost", "-p", pw, "-r", "listener")
	listen.Env = env
	listen.WaitDelay = 2 * time.Second
	var out syncBuffer
	listen.Stdout, listen.Stderr = &out, &out
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = listen.Process.Kill(); _ = listen.Wait() }()
	for i := 0; !strings.Contains(s.Logs(), "bob@localhost/listener"); i++ {
		if i > 200 {
			t.Fatalf("the listener did not bind:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range []struct {
		name, addr string
		args       []string
		body       string
	}{
		{"starttls", s.C2S, nil, "über STARTTLS ✓"},
		{"direct TLS", s.DirectTLS, []string{"-t"}, "direct TLS — 直接"},
	} {
		args := append([]string{"-j", tc.addr, "-u", "alice@localhost", "-p", pw}, tc.args...)
		args = append(args, "bob@localhost")
		send := exec.CommandContext(ctx, bin, args...)
		send.Env = env
		send.Stdin = strings.NewReader(tc.body + "\n")
		if b, err := send.CombinedOutput(); err != nil {
			t.Fatalf("%s: go-sendxmpp: %v\n%s", tc.name, err, b)
		}
		for i := 0; !strings.Contains(out.String(), tc.body); i++ {
			if i > 200 {
				t.Fatalf("%s: the listener did not print %q:\n%s", tc.name, tc.body, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("mechanisms used: %q", mechanismsUsed(s.Logs()))
}

// mechanismsUsed lists the SASL mechanisms in the server's "session bound"
// log lines.
func mechanismsUsed(logs string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if i := strings.Index(line, `"mechanism":"`); i >= 0 && strings.Contains(line, "session bound") {
			rest := line[i+len(`"mechanism":"`):]
			out = append(out, rest[:strings.IndexByte(rest, '"')])
		}
	}
	return out
}
