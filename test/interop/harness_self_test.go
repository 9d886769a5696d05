package interop

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHarness proves the harness itself: the server starts on its own ports
// with the generated configuration, serves /healthz with a certificate that
// verifies against CAFile for the domain, knows the users created before it
// started, and stops cleanly on SIGTERM (checked in cleanup).
func TestHarness(t *testing.T) {
	s := startServer(t, serverOptions{Users: map[string]string{"alice@localhost": "alice-pass-1"}})
	pool, err := s.certPool()
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	resp, err := c.Get("https://" + s.HTTPS + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", resp.Status)
	}
	out := runPeer(t, 30*time.Second, binary, "user", "list", "--config", s.Config)
	if strings.TrimSpace(out) != "alice@localhost" {
		t.Fatalf("user list: %q", out)
	}
	if !strings.Contains(s.Logs(), `"ready"`) {
		t.Fatalf("no ready line in the log:\n%s", s.Logs())
	}
}
