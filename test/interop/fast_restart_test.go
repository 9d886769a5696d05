package interop

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goxmpp "github.com/xmppo/go-xmpp"
)

// TestFASTTokenSurvivesRestart: go-xmpp gets a XEP-0484 token from the
// built server, the server is restarted on the same data directory, and
// the token still logs in (with a wrong password, so only the token can
// do it). The FAST key is kept in the data directory with mode 0600.
func TestFASTTokenSurvivesRestart(t *testing.T) {
	s := startServer(t, serverOptions{Users: map[string]string{"alice@localhost": "secret"}})
	pool, err := s.certPool()
	if err != nil {
		t.Fatal(err)
	}
	opts := goxmpp.Options{
		Host:        s.DirectTLS,
		User:        "alice@localhost",
		Password:    "secret",
		TLSConfig:   &tls.Config{ServerName: s.Domain, RootCAs: pool},
		UserAgentSW: "restart",
		UserAgentID: "9c2b7a0e-3f4d-4e8a-b1c6-5d7e8f9a0b1c",
		Fast:        true,
		DialTimeout: 5 * time.Second,
	}
	first, err := opts.NewClient()
	if err != nil {
		t.Fatalf("password login: %v", err)
	}
	_ = first.Close()
	if first.Fast.Token == "" {
		t.Fatalf("no token: %+v", first.Fast)
	}
	st, err := os.Stat(filepath.Join(s.Dir, "fast.key"))
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Fatalf("fast.key: %v %v", st, err)
	}

	s.Restart(t)

	opts.Password = "not the password: the token must do"
	opts.FastToken, opts.FastMechanism = first.Fast.Token, first.Fast.Mechanism
	c, err := opts.NewClient()
	if err != nil {
		t.Fatalf("token login after the restart: %v", err)
	}
	defer func() { _ = c.Close() }()
	if !strings.HasPrefix(c.Mechanism, "HT-SHA-256-") || !strings.HasPrefix(c.JID(), "alice@localhost/") {
		t.Fatalf("mechanism %q, bound %q", c.Mechanism, c.JID())
	}
}
