package interop

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pythonPath is Debian's interpreter, which has python3-slixmpp (PEERS.md:
// the python3 first on PATH is a separate install without it).
const pythonPath = "/usr/bin/python3"

// TestSlixmpp drives the c2s listener with slixmpp: SCRAM-SHA-256 login
// verifying the certificate against the server's CA file, roster add and
// subscription both ways, presence away/dnd, chat both ways with non-ASCII
// text, carbons with two resources, offline delivery, a MAM query and
// a room (XEP-0045) with history, and stream resumption (XEP-0198) after
// the connection is cut.
func TestSlixmpp(t *testing.T) {
	requirePeer(t, pythonPath)
	if out, err := runPeerErr(t, 30*time.Second, pythonPath, "-c", "import slixmpp"); err != nil {
		t.Fatalf("python3-slixmpp is missing (apt-get install python3-slixmpp): %v\n%s", err, out)
	}
	const pw = "interop-pass-1"
	s := startServer(t, serverOptions{Users: map[string]string{
		"alice@localhost": pw, "bob@localhost": pw, "carol@localhost": pw, "dave@localhost": pw,
	}})
	host, port, _ := net.SplitHostPort(s.C2S)
	steps := []string{"login_stock", "login", "roster", "presence", "chat", "carbons", "offline", "mam", "muc", "resume"}
	script, _ := filepath.Abs("testdata/slixmpp_im.py")
	out := runPeer(t, 150*time.Second, pythonPath, script, host, port, s.Domain, s.CAFile, pw, strings.Join(steps, ","))
	for _, step := range steps {
		if !strings.Contains(out, "OK "+step+"\n") {
			t.Errorf("step %s did not pass:\n%s", step, out)
		}
	}
}
