package interop

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlixmppBookmarks: slixmpp's XEP-0048 (through PEP, XEP-0223) and
// XEP-0402 items on one account are kept in step by the server both ways,
// the account advertises urn:xmpp:bookmarks:1#compat-pep, and another user
// may read neither node. A missing slixmpp fails the test.
func TestSlixmppBookmarks(t *testing.T) {
	requirePeer(t, pythonPath)
	if out, err := runPeerErr(t, 30*time.Second, pythonPath, "-c", "import slixmpp"); err != nil {
		t.Fatalf("python3-slixmpp is missing (apt-get install python3-slixmpp): %v\n%s", err, out)
	}
	const pw = "interop-bookmarks-1"
	s := startServer(t, serverOptions{Users: map[string]string{"alice@localhost": pw, "bob@localhost": pw}})
	host, port, _ := net.SplitHostPort(s.C2S)
	script, _ := filepath.Abs("testdata/slixmpp_bookmarks.py")
	out := runPeer(t, 120*time.Second, pythonPath, script, host, port, s.Domain, s.CAFile, pw)
	for _, step := range []string{"disco", "legacy", "native", "private"} {
		if !strings.Contains(out, "OK "+step+"\n") {
			t.Errorf("step %s did not pass:\n%s", step, out)
		}
	}
}
