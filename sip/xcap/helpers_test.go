package xcap

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/icholy/digest"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

var (
	alice = crosstalk.MustParseAddress("alice@example.com")
	bob   = crosstalk.MustParseAddress("bob@example.com")
	carol = crosstalk.MustParseAddress("carol@example.com")
	dave  = crosstalk.MustParseAddress("dave@example.org")
)

const password = "correct horse"

// guardedDecode is what cmd/crosstalk passes: internal/xmlguard's Decode.
func guardedDecode(r io.Reader, n int64, v any) error {
	return xmlguard.Decode(r, xmlguard.DocumentLimits(n), v)
}

// env is a real store and hub with the XCAP handler on a loopback server.
type env struct {
	t     *testing.T
	store *sqlite.Store
	hub   *crosstalk.Hub
	h     *Handler
	srv   *httptest.Server
	// nc counts the uses of each nonce by the test client.
	mu    sync.Mutex
	nonce map[string]string // user → last nonce
	nc    map[string]int
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/xcap.db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}}, st, zerolog.Nop())
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	for _, a := range []crosstalk.Address{alice, bob, carol} {
		if err := hub.CreateAccount(ctx, a, password, crosstalk.MinSCRAMIterations); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Defaults()
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := New(cfg, hub, st, guardedDecode, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/xcap-root/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, store: st, hub: hub, h: h, srv: srv, nonce: map[string]string{}, nc: map[string]int{}}
}

// response is what a test request got back.
type response struct {
	code int
	hdr  http.Header
	body string
}

// opts adjust a test request.
type opts struct {
	user, pass, alg, ctype string
	hdr                    map[string]string
}

// do sends a request as user (alice by default) with digest authentication
// (SHA-256 by default): a first try with the nonce in hand, and on 401 one
// more with the fresh challenge.
func (e *env) do(method, path, body string, o opts) response {
	e.t.Helper()
	if o.user == "" {
		o.user = "alice"
	}
	if o.pass == "" {
		o.pass = password
	}
	if o.alg == "" {
		o.alg = "SHA-256"
	}
	for try := 0; try < 2; try++ {
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			e.t.Fatal(err)
		}
		if o.ctype != "" {
			req.Header.Set("Content-Type", o.ctype)
		}
		for k, v := range o.hdr {
			req.Header.Set(k, v)
		}
		e.mu.Lock()
		nonce := e.nonce[o.user+o.alg]
		e.nc[nonce]++
		nc := e.nc[nonce]
		e.mu.Unlock()
		if nonce != "" {
			chal := &digest.Challenge{Realm: "example.com", Nonce: nonce, Algorithm: o.alg, QOP: []string{"auth"}}
			cred, err := digest.Digest(chal, digest.Options{Method: method, URI: req.URL.RequestURI(), Username: o.user, Password: o.pass, Count: nc})
			if err != nil {
				e.t.Fatal(err)
			}
			req.Header.Set("Authorization", cred.String())
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || try == 1 {
			return response{code: resp.StatusCode, hdr: resp.Header, body: string(b)}
		}
		for _, c := range resp.Header.Values("WWW-Authenticate") {
			ch, err := digest.ParseChallenge(c)
			if err == nil && strings.EqualFold(ch.Algorithm, o.alg) {
				e.mu.Lock()
				e.nonce[o.user+o.alg] = ch.Nonce
				e.mu.Unlock()
			}
		}
	}
	panic("unreachable")
}

// must checks a status code.
func (r response) must(t *testing.T, code int) response {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	return r
}

// roster returns an account's roster.
func (e *env) roster(owner crosstalk.Address) crosstalk.Roster {
	e.t.Helper()
	r, err := e.hub.Roster(context.Background(), owner)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// item returns one roster item, or a zero item.
func (e *env) item(owner, contact crosstalk.Address) (crosstalk.RosterItem, bool) {
	for _, it := range e.roster(owner).Items {
		if it.Contact == contact {
			return it, true
		}
	}
	return crosstalk.RosterItem{}, false
}

// pushes records the roster pushes an endpoint receives.
type pushes struct {
	mu  sync.Mutex
	got []*crosstalk.RosterPush
}

func (p *pushes) Protocol() crosstalk.Protocol { return crosstalk.ProtocolXMPP }
func (p *pushes) Close(error)                  {}
func (p *pushes) Deliver(ev crosstalk.Event) error {
	if rp, ok := ev.(*crosstalk.RosterPush); ok {
		p.mu.Lock()
		p.got = append(p.got, rp)
		p.mu.Unlock()
	}
	return nil
}

func (p *pushes) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

const (
	rlPath = "/xcap-root/resource-lists/users/sip:alice@example.com/index"
	prPath = "/xcap-root/pres-rules/users/sip:alice@example.com/index"
	ctRL   = "application/resource-lists+xml"
	ctPR   = "application/auth-policy+xml"
)
