package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// curlXCAP runs curl (a real, independent HTTP digest client) against the
// server's XCAP root and returns the status code, the response headers and
// the body. user "" sends no credentials.
func curlXCAP(t *testing.T, s *server, user, password, method, path, ctype, body string, headers ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	_, port, _ := strings.Cut(s.HTTPS, ":")
	args := []string{"-sS", "--max-time", "20", "--cacert", s.CAFile,
		"--resolve", s.Domain + ":" + port + ":127.0.0.1",
		"-X", method, "-o", filepath.Join(dir, "body"), "-D", filepath.Join(dir, "headers"), "-w", "%{http_code}"}
	if user != "" {
		args = append(args, "--digest", "-u", user+":"+password)
	}
	if ctype != "" {
		args = append(args, "-H", "Content-Type: "+ctype)
	}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	if body != "" {
		f := filepath.Join(dir, "request")
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--data-binary", "@"+f)
	}
	args = append(args, "https://"+s.Domain+":"+port+"/xcap-root/"+path)
	out := runPeer(t, 30*time.Second, "curl", args...)
	var code int
	if _, err := fmt.Sscan(strings.TrimSpace(out), &code); err != nil {
		t.Fatalf("curl printed %q", out)
	}
	hdr, _ := os.ReadFile(filepath.Join(dir, "headers"))
	b, _ := os.ReadFile(filepath.Join(dir, "body"))
	return code, string(hdr), string(b)
}

// etagOf finds the last ETag header in curl's dump (after a 401 round).
func etagOf(headers string) string {
	tag := ""
	for _, l := range strings.Split(headers, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "etag") {
			tag = strings.TrimSpace(v)
		}
	}
	return tag
}

// TestXCAPWithCurl drives XCAP (RFC 4825) at /xcap-root/ on the HTTPS
// listener with curl's digest authentication, for every application usage:
// the documents are views of the roster, so a PUT of resource-lists is seen
// in pres-rules, and ETags guard writes.
func TestXCAPWithCurl(t *testing.T) {
	s := startServer(t, serverOptions{Users: map[string]string{"alice@localhost": "alice-pass-1", "bob@localhost": "bob-pass-1"}})
	const (
		rl = "resource-lists/users/sip:alice@localhost/index"
		pr = "pres-rules/users/sip:alice@localhost/index"
	)

	code, _, body := curlXCAP(t, s, "", "", "GET", "xcap-caps/global/index", "", "")
	if code != 200 || !strings.Contains(body, "<auid>resource-lists</auid>") || !strings.Contains(body, "<auid>pres-rules</auid>") {
		t.Fatalf("xcap-caps: %d %s", code, body)
	}
	if code, _, _ := curlXCAP(t, s, "", "", "GET", rl, "", ""); code != 401 {
		t.Fatalf("no credentials: %d", code)
	}
	if code, _, _ := curlXCAP(t, s, "alice", "wrong", "GET", rl, "", ""); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code, _, _ := curlXCAP(t, s, "bob", "bob-pass-1", "GET", rl, "", ""); code != 403 {
		t.Fatalf("bob reading alice's list: %d", code)
	}

	code, hdr, _ := curlXCAP(t, s, "alice", "alice-pass-1", "GET", rl, "", "")
	etag := etagOf(hdr)
	if code != 200 || etag == "" {
		t.Fatalf("GET resource-lists: %d %q", code, hdr)
	}
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
 <list name="roster"><list name="Friends"><entry uri="sip:bob@localhost"><display-name>Bob</display-name></entry></list></list>
</resource-lists>`
	if code, _, body := curlXCAP(t, s, "alice", "alice-pass-1", "PUT", rl, "application/resource-lists+xml", doc, "If-Match: "+etag); code != 200 {
		t.Fatalf("PUT resource-lists: %d %s", code, body)
	}
	if code, _, _ := curlXCAP(t, s, "alice", "alice-pass-1", "PUT", rl, "application/resource-lists+xml", doc, "If-Match: "+etag); code != 412 {
		t.Fatalf("PUT with a stale ETag: %d", code)
	}
	sel := rl + "/~~/resource-lists/list%5b@name=%22roster%22%5d/list%5b@name=%22Friends%22%5d/entry%5b1%5d/@uri"
	if code, _, body := curlXCAP(t, s, "alice", "alice-pass-1", "GET", sel, "", ""); code != 200 || body != "sip:bob@localhost" {
		t.Fatalf("attribute GET: %d %q", code, body)
	}
	entry := rl + "/~~/resource-lists/list%5b@name=%22roster%22%5d/entry%5b@uri=%22sip:carol@localhost%22%5d"
	if code, _, body := curlXCAP(t, s, "alice", "alice-pass-1", "PUT", entry, "application/xcap-el+xml", `<entry uri="sip:carol@localhost"/>`); code != 201 {
		t.Fatalf("element PUT: %d %s", code, body)
	}
	if code, _, body := curlXCAP(t, s, "alice", "alice-pass-1", "PUT", rl, "application/resource-lists+xml", "<resource-lists"); code != 409 || !strings.Contains(body, "<not-well-formed") {
		t.Fatalf("malformed PUT: %d %s", code, body)
	}

	// Approving Bob in pres-rules; the rules then show him allowed.
	rules := `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
 <rule id="a"><conditions><identity><one id="sip:bob@localhost"/></identity></conditions><actions><pr:sub-handling>allow</pr:sub-handling></actions></rule>
</ruleset>`
	if code, _, body := curlXCAP(t, s, "alice", "alice-pass-1", "PUT", pr, "application/auth-policy+xml", rules); code != 200 {
		t.Fatalf("PUT pres-rules: %d %s", code, body)
	}
	if code, _, body := curlXCAP(t, s, "alice", "alice-pass-1", "GET", pr, "", ""); code != 200 || !strings.Contains(body, `<one id="sip:bob@localhost"/>`) || !strings.Contains(body, "allow") {
		t.Fatalf("GET pres-rules: %d %s", code, body)
	}
	if code, _, body := curlXCAP(t, s, "alice", "alice-pass-1", "GET", "rls-services/users/sip:alice@localhost/index", "", ""); code != 200 || !strings.Contains(body, `uri="sip:alice-buddies@localhost"`) {
		t.Fatalf("GET rls-services: %d %s", code, body)
	}
}
