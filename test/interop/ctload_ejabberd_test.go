package interop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk/internal/tlscert"
)

// ejabberdLibs matches the ERL_LIBS line of Debian's ejabberdctl script:
// where the package keeps ejabberd's Erlang applications.
var ejabberdLibs = regexp.MustCompile(`(?m)^ERL_LIBS='([^']+)'`)

// startEjabberd starts ejabberd from Debian on a free loopback port with
// bench/ejabberd.yml.in (TLS required, SCRAM-SHA-256 storage, no shaper,
// a room service on conference.localhost), its Mnesia, logs and
// certificate in a temporary directory, and user1…user8 created through
// its HTTP API. The Erlang VM runs directly as the test's child, without
// distribution (no node name, cookie or epmd), so it meets nothing else on
// the machine.
//
// addr is the STARTTLS listener, tlsAddr the XEP-0368 direct TLS one.
func startEjabberd(t *testing.T) (addr, tlsAddr, caFile string, pid int) {
	t.Helper()
	ctl := requirePeer(t, "ejabberdctl")
	requirePeer(t, "erl")
	script, err := os.ReadFile(ctl)
	if err != nil {
		t.Fatal(err)
	}
	m := ejabberdLibs.FindSubmatch(script)
	if m == nil {
		t.Fatalf("%s: no ERL_LIBS line: cannot find ejabberd's applications", ctl)
	}
	dir := t.TempDir()
	if _, _, err := tlscert.SelfSigned(dir, []string{"localhost"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	addr, tlsAddr, api := freeTCP(t), freeTCP(t), freeTCP(t)
	host, port, _ := net.SplitHostPort(addr)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	_, apiPort, _ := net.SplitHostPort(api)
	cfgFile := filepath.Join(dir, "ejabberd.yml")
	cfg := fillTemplate(t, "ejabberd.yml.in", map[string]string{
		"DOMAIN": "localhost", "ADDR": host, "PORT": port, "TLSPORT": tlsPort, "HTTPPORT": apiPort, "MUC": "conference.localhost",
		"CERT": filepath.Join(dir, tlscert.CertFile), "KEY": filepath.Join(dir, tlscert.KeyFile),
	})
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"ERL_LIBS=" + string(m[1]), "HOME=" + dir,
		"EJABBERD_CONFIG_PATH=" + cfgFile, "EJABBERD_LOG_PATH=" + filepath.Join(dir, "ejabberd.log"),
		"ERL_CRASH_DUMP=" + filepath.Join(dir, "erl_crash.dump"),
	}
	p := startPeerEnv(t, dir, env, "erl", "-noinput", "-noshell", "+K", "true",
		"+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none",
		"-mnesia", "dir", strconv.Quote(filepath.Join(dir, "db")), "-s", "ejabberd")
	p.waitFor(t, "ejabberd", func() bool {
		for _, a := range []string{addr, tlsAddr, api} {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				return false
			}
			c.Close()
		}
		return true
	})
	for i := 1; i <= ctloadAccounts; i++ {
		ejabberdAPI(t, api, "register", fmt.Sprintf(`{"user":"user%d","host":"localhost","password":"secret"}`, i))
	}
	return addr, tlsAddr, filepath.Join(dir, tlscert.CertFile), p.cmd.Process.Pid
}

// ejabberdAPI calls one mod_http_api command and fails the test unless it
// answers 200.
func ejabberdAPI(t *testing.T, api, command, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+api+"/api/"+command, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("ejabberd API %s: %v", command, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ejabberd API %s %s: %s %s", command, body, resp.Status, b)
	}
}

// TestCtloadEjabberd runs the XMPP scenarios and the room scenario in smoke
// mode against ejabberd from Debian, as against Prosody.
func TestCtloadEjabberd(t *testing.T) {
	addr, tlsAddr, ca, pid := startEjabberd(t)
	common := []string{"-xmpp", addr, "-ca", ca, "-accounts", strconv.Itoa(ctloadAccounts), "-pid", strconv.Itoa(pid)}
	t.Run("xmpp-login", func(t *testing.T) { smoke(t, "xmpp-login", common...) })
	// ejabberd 23.01 (fast_tls) never resumes: every login is a full
	// handshake, which the smoke run still checks.
	t.Run("xmpp-login-direct-tls-resumed", func(t *testing.T) { smokeDirectTLS(t, tlsAddr, ca, pid, false) })
	t.Run("xmpp-tls", func(t *testing.T) { smokeTLS(t, addr, tlsAddr, ca, pid) })
	t.Run("xmpp-chat", func(t *testing.T) {
		if r := smoke(t, "xmpp-chat", common...); len(r.Phases) != 2 || r.Phases[1].Name != "message" {
			t.Errorf("phases %+v", r.Phases)
		}
	})
	t.Run("xmpp-presence", func(t *testing.T) {
		if r := smoke(t, "xmpp-presence", append(common, "-contacts", "3")...); len(r.Phases) != 3 || r.Phases[2].OK%3 != 0 {
			t.Errorf("phases %+v", r.Phases)
		}
	})
	t.Run("xmpp-idle", func(t *testing.T) {
		if r := smoke(t, "xmpp-idle", append(common, "-src", "127.0.0.2-127.0.0.5")...); r.Sessions == 0 || r.ServerRSSAfterKB <= 0 {
			t.Errorf("sessions %d, server RSS %d KiB", r.Sessions, r.ServerRSSAfterKB)
		}
	})
	t.Run("muc", func(t *testing.T) { smokeMUC(t, common...) })
}
