package xcap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/crosstalk-im/crosstalk/internal/lockout"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/nonce"
)

// Hub is what the XCAP server needs of the core hub (*crosstalk.Hub
// implements it): the roster and blocklist are read and changed only
// through it, so that every change reaches every protocol.
type Hub interface {
	IsLocal(a crosstalk.Address) bool
	Roster(ctx context.Context, owner crosstalk.Address) (crosstalk.Roster, error)
	SetRosterItem(ctx context.Context, owner crosstalk.Address, item crosstalk.RosterItem) error
	RemoveRosterItem(ctx context.Context, owner, contact crosstalk.Address) error
	Block(ctx context.Context, owner crosstalk.Address, addrs ...crosstalk.Address) error
	Unblock(ctx context.Context, owner crosstalk.Address, addrs ...crosstalk.Address) error
	SetPresence(ctx context.Context, p *crosstalk.Presence) error
}

// Store is what the XCAP server reads from the store (crosstalk.Store
// implements it): credentials for digest authentication and the blocklist.
type Store interface {
	GetAccount(ctx context.Context, addr crosstalk.Address) (crosstalk.Account, error)
	Blocklist(ctx context.Context, owner crosstalk.Address) ([]crosstalk.Address, error)
}

// DecodeFunc decodes one XML document of at most maxBytes bytes from r
// into v, refusing DTDs, comments and processing instructions and bounding
// depth and attributes. Pass internal/xmlguard's Decode:
//
//	func(r io.Reader, n int64, v any) error { return xmlguard.Decode(r, xmlguard.DocumentLimits(n), v) }
//
// (the layout rules keep sip/xcap from importing internal/ itself).
type DecodeFunc func(r io.Reader, maxBytes int64, v any) error

// Handler serves XCAP (RFC 4825) over the core roster. It is an
// http.Handler to mount at Config.Root plus "/".
type Handler struct {
	cfg    Config
	hub    Hub
	store  Store
	decode DecodeFunc
	log    zerolog.Logger
	nonces *nonce.Store
	// now is the nonces' clock (tests move it).
	now func() time.Time
	// lockout refuses sources and accounts with too many failed logins.
	lockout *lockout.Lockout
	usages  map[string]*usage
	// writeMu serialises PUT and DELETE, so that the precondition check,
	// the planning and the changes see one state.
	writeMu sync.Mutex
}

// New returns the XCAP handler.
func New(cfg Config, hub Hub, store Store, decode DecodeFunc, log zerolog.Logger) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if hub == nil || store == nil || decode == nil {
		return nil, errors.New("xcap: a hub, a store and a decoder are required")
	}
	h := &Handler{
		cfg: cfg, hub: hub, store: store, decode: decode,
		log:    log.With().Str("component", "xcap").Logger(),
		now:    time.Now,
		usages: usages(),
	}
	h.nonces = nonce.New(cfg.NonceTTL, cfg.MaxNonces, func() time.Time { return h.now() })
	h.lockout = lockout.New(lockout.Config{Limit: cfg.LoginFailuresPerMinute, Window: time.Minute, MaxKeys: cfg.MaxNonces, TrustFor: loginTrust, Now: func() time.Time { return h.now() }})
	return h, nil
}

// Must returns h, or panics with err: for wiring a handler whose
// configuration cannot fail (Defaults and non-nil dependencies) on one line.
func Must(h *Handler, err error) *Handler {
	if err != nil {
		panic(err)
	}
	return h
}

// request is a parsed XCAP request URI.
type request struct {
	usage *usage
	// xui is the user of a users/ document; zero for global documents.
	xui crosstalk.Address
	// sel is the node selector; nil for the whole document.
	sel *selector
}

// parseURI splits an XCAP URI (RFC 4825 §6): root / auid / users / xui /
// index [/~~/ node-selector] or root / auid / global / index.
func (h *Handler) parseURI(r *http.Request) (*request, error) {
	p, ok := strings.CutPrefix(r.URL.EscapedPath(), h.cfg.Root+"/")
	if !ok {
		return nil, status(http.StatusNotFound, "not under the XCAP root")
	}
	docPart, selPart, hasSel := strings.Cut(p, "/~~/")
	segs := strings.Split(docPart, "/")
	for i, s := range segs {
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, status(http.StatusBadRequest, "bad escape in the URI")
		}
		segs[i] = d
	}
	req := &request{}
	if req.usage = h.usages[segs[0]]; req.usage == nil {
		return nil, status(http.StatusNotFound, "no application usage %q", segs[0])
	}
	switch {
	case req.usage.global && len(segs) == 3 && segs[1] == "global" && segs[2] == "index":
	case !req.usage.global && len(segs) == 4 && segs[1] == "users" && segs[3] == "index":
		a, err := uriAddress(segs[2])
		if err != nil || !strings.Contains(segs[2], ":") {
			a, err = crosstalk.ParseAddress(segs[2])
		}
		if err != nil || a.Local() == "" || !h.hub.IsLocal(a) {
			return nil, status(http.StatusNotFound, "no such user")
		}
		req.xui = a.Bare()
	default:
		return nil, status(http.StatusNotFound, "no such document")
	}
	if hasSel {
		s, err := url.PathUnescape(selPart)
		if err != nil {
			return nil, status(http.StatusBadRequest, "bad escape in the node selector")
		}
		q, err := url.PathUnescape(r.URL.RawQuery)
		if err != nil {
			return nil, status(http.StatusBadRequest, "bad escape in the query")
		}
		ns, err := parseNamespaceBindings(q)
		if err != nil {
			return nil, status(http.StatusBadRequest, "%v", err)
		}
		if req.sel, err = parseSelector(s, req.usage.ns, ns); err != nil {
			return nil, status(http.StatusBadRequest, "%v", err)
		}
	}
	return req, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, err := h.parseURI(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var v *view
	if req.usage.global {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, status(http.StatusMethodNotAllowed, "global documents are read-only"))
			return
		}
		v = &view{}
	} else {
		user, err := h.authenticate(ctx, r, req.xui.Domain())
		var ae *authError
		if errors.As(err, &ae) {
			h.log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("authentication failed")
			h.challenge(w, req.xui.Domain(), ae.stale)
			return
		}
		var le *lockedError
		if errors.As(err, &le) {
			h.log.Info().Str("remote", r.RemoteAddr).Dur("wait", le.wait).Msg("login locked out")
			le.write(w)
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if user != req.xui {
			writeError(w, status(http.StatusForbidden, "documents of another user"))
			return
		}
		if r.Method == http.MethodPut || r.Method == http.MethodDelete {
			h.writeMu.Lock()
			defer h.writeMu.Unlock()
		}
		if v, err = h.load(ctx, r, user); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	doc := req.usage.render(v)
	etag := etagOf(req.usage, v, doc)
	w.Header().Set("ETag", etag)
	if code := preconditions(r, etag); code != 0 {
		w.WriteHeader(code)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.get(w, r, req, doc)
	case http.MethodPut, http.MethodDelete:
		h.write(w, r, req, v, doc)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		writeError(w, status(http.StatusMethodNotAllowed, "method not allowed"))
	}
}

// load reads the view of an account's documents.
func (h *Handler) load(ctx context.Context, r *http.Request, user crosstalk.Address) (*view, error) {
	roster, err := h.hub.Roster(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("xcap roster of %s: %w", user, err)
	}
	blocked, err := h.store.Blocklist(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("xcap blocklist of %s: %w", user, err)
	}
	root := h.cfg.RootURI
	if root == "" {
		root = "https://" + r.Host + h.cfg.Root
	}
	aor, err := user.SIPURI()
	if err != nil {
		return nil, fmt.Errorf("xcap %s: %w", user, err)
	}
	service := strings.NewReplacer("{user}", strings.TrimPrefix(strings.SplitN(aor, "@", 2)[0], "sip:"), "{domain}", user.Domain()).Replace(h.cfg.ServiceURI)
	return &view{
		owner: user, roster: roster, blocked: blocked, serviceURI: service,
		listURI: root + "/resource-lists/users/" + url.PathEscape(aor) + "/index/~~/resource-lists/list%5B@name=%22" + rosterListName + "%22%5D",
	}, nil
}

// etagOf derives the document's entity tag from the roster version and the
// document itself, so that any change of the roster or the blocklist
// changes it.
func etagOf(u *usage, v *view, doc *node) string {
	sum := sha256.Sum256(append([]byte(u.auid+"\x00"), doc.encode()...))
	return `"` + strconv.FormatInt(v.roster.Version, 10) + "-" + hex.EncodeToString(sum[:10]) + `"`
}

// preconditions evaluates If-Match and If-None-Match (RFC 9110 §13) against
// the current entity tag; the document always exists. It returns 412, 304
// or 0 to go on.
func preconditions(r *http.Request, etag string) int {
	if im := r.Header.Get("If-Match"); im != "" && !etagListMatches(im, etag) {
		return http.StatusPreconditionFailed
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, etag) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return http.StatusNotModified
		}
		return http.StatusPreconditionFailed
	}
	return 0
}

func etagListMatches(list, etag string) bool {
	for n, t := range strings.Split(list, ",") {
		if n >= 64 {
			break
		}
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// get answers a GET of a document or a node.
func (h *Handler) get(w http.ResponseWriter, r *http.Request, req *request, doc *node) {
	body, ct := doc.document(), req.usage.contentType
	if req.sel != nil {
		var err error
		if body, ct, err = getNode(doc, req.sel); err != nil {
			writeError(w, err)
			return
		}
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// fail answers 500 and logs the error once.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("xcap request failed")
	writeError(w, err)
}
