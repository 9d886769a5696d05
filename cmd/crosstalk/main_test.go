package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// cli runs one command line in-process.
func cli(t *testing.T, stdin string, environ map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return environ[k] })
	return code, out.String(), errb.String()
}

func oneErrorLine(t *testing.T, stderr string) {
	t.Helper()
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "crosstalk: ") {
		t.Errorf("want one error line, got %q", stderr)
	}
}

func TestUserLifecycle(t *testing.T) {
	data := t.TempDir()
	const password = "Zebra-Pancake-4711"
	if code, out, errs := cli(t, password+"\n", nil, "user", "add", "alice@localhost", "--data", data); code != 0 || !strings.Contains(out, "created alice@localhost") {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	code, _, errs := cli(t, "other\n", nil, "user", "add", "--data", data, "Alice@LOCALHOST")
	if code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("duplicate add: %d %q", code, errs)
	}
	oneErrorLine(t, errs)
	if code, _, errs := cli(t, "\n", nil, "user", "add", "bob@localhost", "--data", data); code != 1 || !strings.Contains(errs, "no password") {
		t.Fatalf("empty password: %d %q", code, errs)
	}
	if code, _, errs := cli(t, "pw\n", nil, "user", "add", "bob@elsewhere.example", "--data", data); code != 1 || !strings.Contains(errs, "not served") {
		t.Fatalf("foreign domain: %d %q", code, errs)
	}
	if code, _, errs := cli(t, "pw\n", nil, "user", "add", "b<b@localhost", "--data", data); code != 1 {
		t.Fatalf("invalid address: %d %q", code, errs)
	} else {
		oneErrorLine(t, errs)
	}
	if code, out, _ := cli(t, "", nil, "user", "list", "--data", data); code != 0 || out != "alice@localhost\n" {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, errs := cli(t, "N3w password\n", nil, "user", "passwd", "alice@localhost", "--data", data); code != 0 {
		t.Fatalf("passwd: %q", errs)
	}

	// No file under the data directory holds either password.
	err := filepath.WalkDir(data, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // SQLite's -shm/-wal side files go when the last connection closes
		}
		if err != nil {
			return err
		}
		for _, pw := range []string{password, "N3w password"} {
			if bytes.Contains(b, []byte(pw)) {
				t.Errorf("%s contains a password", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if code, _, errs := cli(t, "", nil, "user", "del", "alice@localhost", "--data", data); code != 0 {
		t.Fatalf("del: %q", errs)
	}
	if code, out, _ := cli(t, "", nil, "user", "list", "--data", data); code != 0 || out != "" {
		t.Fatalf("list after del: %q", out)
	}
	if code, _, errs := cli(t, "", nil, "user", "del", "alice@localhost", "--data", data); code != 1 {
		t.Fatalf("del of a missing account: %d %q", code, errs)
	}
}

func TestConfigStrictAndPrecedence(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("domains = [\"example.com\"]\n[log]\nlevl = \"debug\"\n"), 0o600)
	code, _, errs := cli(t, "", nil, "config", "check", "--config", bad)
	if code != 1 || !strings.Contains(errs, "unknown keys: log.levl") {
		t.Fatalf("unknown key: %d %q", code, errs)
	}
	oneErrorLine(t, errs)

	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("domains = [\"file.example\"]\ndata_dir = \"/from/file\"\n[log]\nlevel = \"warn\"\n[listen]\nhttps = \"127.0.0.1:1\"\n"), 0o600)
	env := map[string]string{"CROSSTALK_LOG_LEVEL": "error", "CROSSTALK_DATA": "/from/env", "CROSSTALK_HTTPS_ADDR": "127.0.0.1:2", "CROSSTALK_SIP_TLS_ADDR": "127.0.0.1:5999", "CROSSTALK_STANZA_SIZE": "65536"}
	c, err := buildConfig(good, func(k string) string { return env[k] }, func(c *Config) { c.Listen.HTTPS = "127.0.0.1:3" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Domains[0] != "file.example" || c.Log.Level != "error" || c.DataDir != "/from/env" || c.Listen.HTTPS != "127.0.0.1:3" || c.Listen.XMPPClient != ":5222" || c.Listen.SIPTLS != "127.0.0.1:5999" || c.Limits.StanzaSize != 65536 {
		t.Fatalf("precedence default<file<env<flag broken: %+v", c)
	}
	if code, out, errs := cli(t, "", nil, "config", "check", "--config", "../../docs/crosstalk.example.toml"); code != 0 || !strings.HasPrefix(out, "ok:") {
		t.Fatalf("example config: %d %q %q", code, out, errs)
	}
	if _, err := buildConfig("", func(k string) string { return map[string]string{"CROSSTALK_STANZA_SIZE": "big"}[k] }, func(*Config) {}); err == nil {
		t.Error("a non-number in CROSSTALK_STANZA_SIZE was accepted")
	}
	for _, bad := range []string{"scram_iterations = 100\n", "domains = [\"a@b\"]\n", "[store]\nurl = \"mysql://x\"\n", "[listen]\nhttps = \"nope\"\n"} {
		p := filepath.Join(dir, "x.toml")
		os.WriteFile(p, []byte(bad), 0o600)
		if code, _, errs := cli(t, "", nil, "config", "check", "--config", p); code != 1 {
			t.Errorf("%q accepted: %q", bad, errs)
		}
	}
	if code, _, _ := cli(t, "", nil, "frobnicate"); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
	if code, out, _ := cli(t, "", nil, "version"); code != 0 || !strings.HasPrefix(out, "crosstalk ") {
		t.Errorf("version: %q", out)
	}
}

func TestBadStores(t *testing.T) {
	start := time.Now()
	code, _, errs := cli(t, "pw\n", nil, "user", "add", "alice@localhost", "--store-url", "postgres://postgres@127.0.0.1:1/test?connect_timeout=2")
	if code != 1 || time.Since(start) > 10*time.Second {
		t.Fatalf("unreachable database: %d after %v: %q", code, time.Since(start), errs)
	}
	oneErrorLine(t, errs)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	code, _, errs = cli(t, "pw\n", nil, "user", "add", "alice@localhost", "--data", filepath.Join(file, "data"))
	if code != 1 {
		t.Fatalf("unwritable data directory: %d %q", code, errs)
	}
	oneErrorLine(t, errs)
}

// syncBuffer collects log output written from the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeReadyHealthyAndStops(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", data, "--https", "127.0.0.1:0", "--log-format", "json"}, strings.NewReader(""), &bytes.Buffer{}, logs, func(string) string { return "" })
	}()
	var ready struct {
		HTTPS   string  `json:"https"`
		Startup float64 `json:"startup"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for ready.HTTPS == "" && time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"message":"ready"`) {
				json.Unmarshal(sc.Bytes(), &ready)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ready.HTTPS == "" {
		t.Fatalf("never ready: %s", logs.String())
	}
	t.Logf("ready after %.1f ms", ready.Startup)

	// The XEP-0484 FAST key: generated at the first start, owner-only.
	if st, err := os.Stat(filepath.Join(data, fastKeyFile)); err != nil || st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Fatalf("%s: %v %v", fastKeyFile, st, err)
	}

	pem, err := os.ReadFile(filepath.Join(data, "tls-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}}
	resp, err := client.Get("https://" + ready.HTTPS + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	// XEP-0156 host-meta and RFC 7395 are mounted on the HTTPS listener.
	resp, err = client.Get("https://" + ready.HTTPS + "/.well-known/host-meta.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, port, _ := net.SplitHostPort(ready.HTTPS)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "wss://localhost:"+port+"/xmpp-websocket") {
		t.Fatalf("host-meta %d: %s", resp.StatusCode, body)
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	wconn, _, hs, err := ws.Dialer{Protocols: []string{"xmpp"}, TLSConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}.Dial(wctx, "wss://"+ready.HTTPS+"/xmpp-websocket")
	wcancel()
	if err != nil || hs.Protocol != "xmpp" {
		t.Fatalf("websocket: %v %+v", err, hs)
	}
	_ = wsutil.WriteClientText(wconn, []byte(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`))
	if msg, err := wsutil.ReadServerText(wconn); err != nil || !strings.HasPrefix(string(msg), "<open ") {
		t.Fatalf("websocket open: %q %v", msg, err)
	}
	wconn.Close()

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, logs.String())
		}
	case <-time.After(shutdownGrace + time.Second):
		t.Fatal("serve did not stop within the grace period")
	}
}

func TestConfigComponents(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "c.toml")
	os.WriteFile(good, []byte("domains = [\"example.com\"]\n[[components]]\ndomain = \"GW.example.com\"\nsecret = \"0123456789abcdef-secret\"\n"), 0o600)
	c, err := buildConfig(good, func(string) string { return "" }, func(*Config) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Components) != 1 || c.Components[0].Domain != "gw.example.com" || c.Listen.XMPPComponent != "127.0.0.1:5275" {
		t.Fatalf("components: %v, listener %q", c.Components, c.Listen.XMPPComponent)
	}
	for _, shown := range []string{fmt.Sprint(c.Components), fmt.Sprintf("%+v", c.Components[0]), fmt.Sprintf("%#v", c.Components)} {
		if strings.Contains(shown, "secret") {
			t.Errorf("the secret is printed: %s", shown)
		}
	}
	for _, bad := range []string{
		"[[components]]\ndomain = \"gw.example.com\"\nsecret = \"short\"\n",
		"[[components]]\ndomain = \"example.com\"\nsecret = \"0123456789abcdef-secret\"\n",
		"[[components]]\ndomain = \"conference.example.com\"\nsecret = \"0123456789abcdef-secret\"\n",
		"[[components]]\ndomain = \"a@gw.example.com\"\nsecret = \"0123456789abcdef-secret\"\n",
		"[[components]]\ndomain = \"gw.example.com\"\nsecret = \"0123456789abcdef-secret\"\n[[components]]\ndomain = \"gw.example.com\"\nsecret = \"0123456789abcdef-secret\"\n",
	} {
		p := filepath.Join(dir, "x.toml")
		os.WriteFile(p, []byte("domains = [\"example.com\"]\n"+bad), 0o600)
		if _, err := buildConfig(p, func(string) string { return "" }, func(*Config) {}); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("the secret is in the error: %v", err)
		}
	}
}
