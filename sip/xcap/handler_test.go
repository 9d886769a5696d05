package xcap

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
)

func TestDigestAuthentication(t *testing.T) {
	e := newEnv(t)
	// No credentials: 401 with SHA-256 first, then MD5, qop=auth.
	resp, err := http.Get(e.srv.URL + rlPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ch := resp.Header.Values("WWW-Authenticate")
	if resp.StatusCode != 401 || len(ch) != 2 || !strings.Contains(ch[0], "SHA-256") || !strings.Contains(ch[1], "MD5") || !strings.Contains(ch[0], `realm="example.com"`) || !strings.Contains(ch[0], "auth") {
		t.Fatalf("challenge %d %q", resp.StatusCode, ch)
	}
	e.do("GET", rlPath, "", opts{}).must(t, 200)
	e.do("GET", rlPath, "", opts{alg: "MD5"}).must(t, 200)
	e.do("GET", rlPath, "", opts{pass: "wrong"}).must(t, 401)
	e.do("GET", rlPath, "", opts{user: "nobody"}).must(t, 401)
	// Bob, authenticated, reading Alice's documents: 403.
	e.do("GET", rlPath, "", opts{user: "bob"}).must(t, 403)
	e.do("PUT", rlPath, "<resource-lists/>", opts{user: "bob", ctype: ctRL}).must(t, 403)
	// A replayed nonce count is refused.
	e.mu.Lock()
	nonce := e.nonce["aliceSHA-256"]
	e.nc[nonce] = 0
	e.mu.Unlock()
	if r := e.do("GET", rlPath, "", opts{}); r.code != 200 {
		t.Fatalf("after replay the client must get a fresh nonce and succeed, got %d", r.code)
	}
}

func TestDigestStaleAndURI(t *testing.T) {
	e := newEnv(t)
	e.do("GET", rlPath, "", opts{}).must(t, 200)
	now := time.Now()
	e.h.now = func() time.Time { return now.Add(time.Hour) }
	// The client's nonce is old: the server says stale=true.
	e.mu.Lock()
	nonce := e.nonce["aliceSHA-256"]
	e.mu.Unlock()
	req, _ := http.NewRequest("GET", e.srv.URL+rlPath, nil)
	req.Header.Set("Authorization", authHeader(t, "GET", rlPath, nonce, 99))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "stale=true") {
		t.Fatalf("stale: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	// Credentials computed for another URI are refused.
	e.h.now = time.Now
	e.do("GET", rlPath, "", opts{}).must(t, 200)
	e.mu.Lock()
	nonce = e.nonce["aliceSHA-256"]
	e.mu.Unlock()
	req, _ = http.NewRequest("GET", e.srv.URL+rlPath, nil)
	req.Header.Set("Authorization", authHeader(t, "GET", prPath, nonce, 100))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("digest for another uri: %d", resp.StatusCode)
	}
}

func TestXCAPCapsNeedsNoAuthentication(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/xcap-root/xcap-caps/global/index")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/xcap-caps+xml" {
		t.Fatalf("xcap-caps: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest("PUT", e.srv.URL+"/xcap-root/xcap-caps/global/index", strings.NewReader("<x/>"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("PUT xcap-caps: %d", resp.StatusCode)
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{
		"/xcap-root/nope/users/sip:alice@example.com/index",
		"/xcap-root/resource-lists/users/sip:alice@example.com/other",
		"/xcap-root/resource-lists/users/sip:alice@elsewhere.net/index",
		"/xcap-root/resource-lists/global/index",
	} {
		if r := e.do("GET", p, "", opts{}); r.code != 404 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	if r := e.do("GET", rlPath+"/~~/resource-lists/list[", "", opts{}); r.code != 400 {
		t.Errorf("bad selector: %d", r.code)
	}
	if r := e.do("GET", rlPath+"/~~/resource-lists/list[@name=%22nope%22]", "", opts{}); r.code != 404 {
		t.Errorf("missing element: %d", r.code)
	}
}

// TestRosterChangeChangesETag: the document is a view of the roster, so a
// change made through the hub (as XMPP would) changes it and its ETag; a
// write with the old ETag fails with 412 and changes nothing.
func TestRosterChangeChangesETag(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.do("GET", rlPath, "", opts{}).must(t, 200)
	etag := first.hdr.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	e.do("GET", rlPath, "", opts{hdr: map[string]string{"If-None-Match": etag}}).must(t, 304)
	if err := e.hub.SetRosterItem(ctx, alice, crosstalk.RosterItem{Contact: bob, Name: "Bob", Groups: []string{"Friends"}}); err != nil {
		t.Fatal(err)
	}
	second := e.do("GET", rlPath, "", opts{}).must(t, 200)
	if second.hdr.Get("ETag") == etag || !strings.Contains(second.body, `uri="sip:bob@example.com"`) || !strings.Contains(second.body, `<list name="Friends">`) {
		t.Fatalf("after roster change: etag %s → %s\n%s", etag, second.hdr.Get("ETag"), second.body)
	}
	v := e.roster(alice).Version
	doc := `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="roster"/></resource-lists>`
	e.do("PUT", rlPath, doc, opts{ctype: ctRL, hdr: map[string]string{"If-Match": etag}}).must(t, 412)
	e.do("PUT", rlPath, doc, opts{ctype: ctRL, hdr: map[string]string{"If-None-Match": "*"}}).must(t, 412)
	if e.roster(alice).Version != v {
		t.Fatal("a failed precondition changed the roster")
	}
	r := e.do("PUT", rlPath, doc, opts{ctype: ctRL, hdr: map[string]string{"If-Match": second.hdr.Get("ETag")}}).must(t, 200)
	if _, ok := e.item(alice, bob); ok || r.hdr.Get("ETag") == second.hdr.Get("ETag") {
		t.Fatalf("PUT with the right ETag did not apply: %+v", e.roster(alice))
	}
	if got := e.do("GET", rlPath, "", opts{}).hdr.Get("ETag"); got != r.hdr.Get("ETag") {
		t.Fatalf("PUT answered ETag %s, GET says %s", r.hdr.Get("ETag"), got)
	}
}

func TestBlocklistChangeChangesPresRulesETag(t *testing.T) {
	e := newEnv(t)
	before := e.do("GET", prPath, "", opts{}).must(t, 200).hdr.Get("ETag")
	if err := e.hub.Block(context.Background(), alice, dave); err != nil {
		t.Fatal(err)
	}
	after := e.do("GET", prPath, "", opts{}).must(t, 200)
	if after.hdr.Get("ETag") == before || !strings.Contains(after.body, `<one id="sip:dave@example.org"/>`) {
		t.Fatalf("blocklist change not seen: %s", after.body)
	}
}

func TestRLSServices(t *testing.T) {
	e := newEnv(t)
	p := "/xcap-root/rls-services/users/sip:alice@example.com/index"
	r := e.do("GET", p, "", opts{}).must(t, 200)
	if !strings.Contains(r.body, `uri="sip:alice-buddies@example.com"`) || !strings.Contains(r.body, "/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22roster%22%5D") ||
		!strings.Contains(r.body, "<package>presence</package>") {
		t.Fatalf("rls-services:\n%s", r.body)
	}
	e.do("PUT", p, r.body, opts{ctype: "application/rls-services+xml"}).must(t, 405)
}

func TestConfigValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
	for i, m := range []func(*Config){
		func(c *Config) { c.Root = "xcap" },
		func(c *Config) { c.Root = "/xcap/" },
		func(c *Config) { c.RootURI = "ftp://x" },
		func(c *Config) { c.MaxBodyBytes = 10 },
		func(c *Config) { c.NonceTTL = time.Second },
		func(c *Config) { c.MaxNonces = 0 },
		func(c *Config) { c.ServiceURI = "sip:buddies@x" },
		func(c *Config) { c.LoginFailuresPerMinute = 0 },
	} {
		c := Defaults()
		m(&c)
		if c.Validate() == nil {
			t.Errorf("%d: accepted %+v", i, c)
		}
	}
	if _, err := New(Defaults(), nil, nil, nil, zerolog.Nop()); err == nil {
		t.Error("New without dependencies")
	}
	defer func() {
		if recover() == nil {
			t.Error("Must did not panic on an error")
		}
	}()
	Must(New(Config{}, nil, nil, nil, zerolog.Nop()))
}

// authHeader computes Alice's SHA-256 credentials for a path and nonce.
func authHeader(t *testing.T, method, path, nonce string, nc int) string {
	t.Helper()
	chal := &digest.Challenge{Realm: "example.com", Nonce: nonce, Algorithm: "SHA-256", QOP: []string{"auth"}}
	cred, err := digest.Digest(chal, digest.Options{Method: method, URI: path, Username: "alice", Password: password, Count: nc})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

// TestLockout: after too many failed logins the source gets 429 with
// Retry-After, even with the right password, until the minute passes.
func TestLockout(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginFailuresPerMinute = 3 })
	e.do("GET", rlPath, "", opts{pass: "wrong"}).must(t, 401) // two failures
	e.do("GET", rlPath, "", opts{pass: "wrong"})              // the third locks
	r := e.do("GET", rlPath, "", opts{})
	if r.code != 429 || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("locked out: %d %q", r.code, r.hdr.Get("Retry-After"))
	}
	later := time.Now().Add(2 * time.Minute)
	e.h.now = func() time.Time { return later }
	e.do("GET", rlPath, "", opts{}).must(t, 200)
}
