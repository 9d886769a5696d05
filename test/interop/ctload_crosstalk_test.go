package interop

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestCtloadCrosstalk runs every ctload scenario in smoke mode against
// Crosstalk itself (issue 8: the tool keeps working against the server it
// exists to measure), with the same checks as against Prosody and Kamailio.
func TestCtloadCrosstalk(t *testing.T) {
	users := map[string]string{}
	for i := 1; i <= ctloadAccounts; i++ {
		users["user"+strconv.Itoa(i)+"@localhost"] = "secret"
	}
	s := startServer(t, serverOptions{Users: users, Extra: "[sip]\nrequests_per_second = 100000\nrequest_burst = 100000\n"})
	pid := strconv.Itoa(s.cmd.Process.Pid)
	xmpp := []string{"-xmpp", s.C2S, "-ca", s.CAFile, "-accounts", strconv.Itoa(ctloadAccounts), "-pid", pid}
	sip := []string{"-sip", s.SIP, "-accounts", strconv.Itoa(ctloadAccounts), "-pid", pid}
	t.Run("xmpp-login", func(t *testing.T) { smoke(t, "xmpp-login", xmpp...) })
	// XEP-0388 + XEP-0386, then with XEP-0484 tokens.
	t.Run("xmpp-login-sasl2", func(t *testing.T) { smoke(t, "xmpp-login", append(xmpp, "-sasl2")...) })
	t.Run("xmpp-login-direct-tls-resumed", func(t *testing.T) { smokeDirectTLS(t, s.DirectTLS, s.CAFile, s.cmd.Process.Pid, true) })
	t.Run("xmpp-tls", func(t *testing.T) { smokeTLS(t, s.C2S, s.DirectTLS, s.CAFile, s.cmd.Process.Pid) })
	t.Run("xmpp-login-fast", func(t *testing.T) {
		r := smoke(t, "xmpp-login", append(xmpp, "-fast")...)
		if n := r.Notes[len(r.Notes)-1]; !strings.HasSuffix(n, " logins by FAST token") || strings.HasPrefix(n, "0 ") {
			t.Errorf("notes %q", r.Notes)
		}
	})
	// Pipelined: the <authenticate/> (a FAST token's once there is one)
	// right behind the stream header, over direct TLS.
	t.Run("xmpp-login-quickstart", func(t *testing.T) {
		r := smoke(t, "xmpp-login", "-xmpp", s.DirectTLS, "-ca", s.CAFile, "-accounts", strconv.Itoa(ctloadAccounts), "-pid", pid,
			"-direct-tls", "-tls-resume", "-quickstart", "-fast")
		var quick, fast int
		for _, n := range r.Notes {
			_, _ = fmt.Sscanf(n, "%d logins sent <authenticate/> with the stream header", &quick)
			_, _ = fmt.Sscanf(n, "%d logins by FAST token", &fast)
		}
		// After the warm-up (each account's first login: SCRAM asking
		// for a token), every counted login is pipelined, with a token.
		last := r.Phases[len(r.Phases)-1]
		if len(r.Phases) != 2 || r.Phases[0].Name != "warm-up" || last.OK == 0 || int64(quick) != last.OK || int64(fast) != last.OK {
			t.Errorf("phases %+v, notes %q: want a warm-up, then every login pipelined and by FAST token", r.Phases, r.Notes)
		}
	})
	t.Run("xmpp-chat", func(t *testing.T) {
		if r := smoke(t, "xmpp-chat", xmpp...); len(r.Phases) != 2 || r.Phases[1].Name != "message" {
			t.Errorf("phases %+v", r.Phases)
		}
	})
	t.Run("xmpp-presence", func(t *testing.T) {
		if r := smoke(t, "xmpp-presence", append(xmpp, "-contacts", "3")...); len(r.Phases) != 3 || r.Phases[2].OK%3 != 0 {
			t.Errorf("phases %+v", r.Phases)
		}
	})
	t.Run("xmpp-idle", func(t *testing.T) {
		if r := smoke(t, "xmpp-idle", append(xmpp, "-src", "127.0.0.2-127.0.0.5")...); r.Sessions == 0 || r.ServerRSSAfterKB <= 0 {
			t.Errorf("sessions %d, server RSS %d KiB", r.Sessions, r.ServerRSSAfterKB)
		}
	})
	t.Run("muc", func(t *testing.T) { smokeMUC(t, xmpp...) })
	t.Run("sip-register", func(t *testing.T) { smoke(t, "sip-register", append(sip, "-src", "127.0.0.2-127.0.0.3")...) })
	t.Run("sip-register-many-bindings", func(t *testing.T) {
		// 32 user agents registering 8 accounts give each AOR up to 32
		// bindings, so the 200 that lists them passes 1,300 bytes: it must
		// still go back over UDP (RFC 3261 §18.2.2), or the phones retry and
		// fail with replayed nonce counts.
		code, out := runCtload(t, append([]string{"-n", "320", "-c", "32", "-d", "60s", "-timeout", "20s"}, append(sip, "sip-register")...)...)
		if code != 0 {
			t.Fatalf("ctload exited %d:\n%s", code, out)
		}
	})
	t.Run("sip-message", func(t *testing.T) {
		if r := smoke(t, "sip-message", sip...); len(r.Phases) != 2 || r.Phases[1].Name != "message" {
			t.Errorf("phases %+v", r.Phases)
		}
	})
	t.Run("cross", func(t *testing.T) { // issue 6: XMPP→SIP and SIP→XMPP through one server
		r := smoke(t, "cross", append(xmpp, "-sip", s.SIP)...)
		if len(r.Phases) != 3 || r.Phases[1].Name != "xmpp-to-sip" || r.Phases[2].Name != "sip-to-xmpp" {
			t.Errorf("phases %+v", r.Phases)
		}
	})
	// The same over TCP (the UDP port) and TLS (verified against the
	// server's certificate): each user agent's one connection carries its
	// REGISTER and the MESSAGEs relayed to it.
	for _, tr := range []struct{ name, addr string }{{"tcp", s.SIP}, {"tls", s.SIPTLS}} {
		args := []string{"-sip", tr.addr, "-sip-transport", tr.name, "-ca", s.CAFile, "-accounts", strconv.Itoa(ctloadAccounts), "-pid", pid}
		t.Run("sip-register-"+tr.name, func(t *testing.T) { smoke(t, "sip-register", args...) })
		t.Run("sip-message-"+tr.name, func(t *testing.T) {
			if r := smoke(t, "sip-message", args...); len(r.Phases) != 2 || r.Phases[1].Name != "message" {
				t.Errorf("phases %+v", r.Phases)
			}
		})
	}
}
