package interop

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlixmppComponent connects slixmpp's ComponentXMPP (XEP-0114) to the
// component listener and drives it from an slixmpp client: the handshake,
// a message echoed by the component, a disco#info IQ answered by it, the
// server's disco#items listing it, and a wrong secret refused.
func TestSlixmppComponent(t *testing.T) {
	requirePeer(t, pythonPath)
	if out, err := runPeerErr(t, 30*time.Second, pythonPath, "-c", "import slixmpp.componentxmpp"); err != nil {
		t.Fatalf("python3-slixmpp is missing (apt-get install python3-slixmpp): %v\n%s", err, out)
	}
	const pw, secret = "interop-pass-1", "component-secret-0123456789"
	s := startServer(t, serverOptions{
		Users: map[string]string{"alice@localhost": pw},
		Extra: fmt.Sprintf("[[components]]\ndomain = \"echo.localhost\"\nsecret = %q\n", secret),
	})
	host, port, _ := net.SplitHostPort(s.C2S)
	_, compPort, _ := net.SplitHostPort(s.Component)
	script, _ := filepath.Abs("testdata/slixmpp_component.py")
	out := runPeer(t, 90*time.Second, pythonPath, script, host, port, compPort, s.Domain, "echo.localhost", secret, s.CAFile, pw)
	for _, step := range []string{"handshake", "echo", "disco", "items", "wrong_secret"} {
		if !strings.Contains(out, "OK "+step+"\n") {
			t.Errorf("step %s did not pass:\n%s", step, out)
		}
	}
	if strings.Contains(s.Logs(), secret) {
		t.Error("the component secret is in the server's log")
	}
}
