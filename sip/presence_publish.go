package sip

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// publication is one event state publication (RFC 3903) as a hub endpoint
// of its own (a crosstalk.PresenceSource at alice@example.com/pub-…): the
// hub merges it into the account's aggregated presence with the account's
// other endpoints and fans it out; it gets no messages. It disappears on
// expiry or removal, which the hub fans out as unavailable for it.
type publication struct {
	p     *presenceServer
	owner crosstalk.Address
	addr  crosstalk.Address

	mu     sync.Mutex
	etag   string
	timer  *time.Timer
	closed bool
}

var _ crosstalk.PresenceSource = (*publication)(nil)

// Protocol returns crosstalk.ProtocolSIP.
func (*publication) Protocol() crosstalk.Protocol { return crosstalk.ProtocolSIP }

// PresenceOnly marks the publication as a presence source.
func (*publication) PresenceOnly() {}

// Deliver ignores what the hub sends: a publication only publishes.
func (*publication) Deliver(crosstalk.Event) error { return nil }

// Close is called by the hub (shutdown, account deleted): the publication
// is forgotten.
func (pub *publication) Close(error) {
	pub.mu.Lock()
	pub.closed = true
	if pub.timer != nil {
		pub.timer.Stop()
	}
	etag := pub.etag
	pub.mu.Unlock()
	pub.p.forgetPublication(etag, pub)
}

func (pub *publication) stop() {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.timer != nil {
		pub.timer.Stop()
	}
}

func newETag() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// handlePublish serves PUBLISH for the presence package (RFC 3903 §6): an
// initial publication (a PIDF body, no SIP-If-Match) creates one; with
// SIP-If-Match a body modifies it, no body refreshes it, and Expires: 0
// removes it. Unknown entity tags get 412. Only an account's own
// authenticated user publishes for it.
func (p *presenceServer) handlePublish(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
	if err := requireOnly(req); err != nil {
		return err
	}
	if ev, _ := parseEvent(headerValue(req, "Event")); ev != "presence" {
		return statusErr(489, "Bad Event", sipmsg.NewHeader("Allow-Events", "presence"))
	}
	expires, err := p.expires(req)
	if err != nil {
		return err
	}
	user, err := p.authenticateWatcher(ctx, req)
	if err != nil {
		return err
	}
	target, list, err := p.resolveTarget(ctx, req, user)
	if err != nil {
		return err
	}
	if list || target != user {
		return &StatusError{Code: 403, Reason: "Forbidden (publishing for another account)", Err: crosstalk.ErrForbidden}
	}
	var presence *crosstalk.Presence
	if body := req.Body(); len(bytes.TrimSpace(body)) > 0 {
		if presence, err = p.parsePIDF(req, user); err != nil {
			return err
		}
	}
	ifMatch := strings.TrimSpace(headerValue(req, "SIP-If-Match"))
	if ifMatch == "" {
		if presence == nil || expires == 0 {
			return statusErr(400, "Bad Request (an initial PUBLISH needs a body and a non-zero Expires)")
		}
		pub, err := p.createPublication(ctx, user, presence)
		if err != nil {
			return err
		}
		return p.publishOK(req, tx, pub.refresh(expires), expires)
	}
	pub := p.publicationOf(ifMatch, user)
	if pub == nil {
		return statusErr(412, "Conditional Request Failed")
	}
	if expires == 0 {
		p.removePublication(ctx, pub)
		return p.publishOK(req, tx, "", 0)
	}
	if presence != nil {
		presence.From = pub.addr
		if err := p.s.hub.SetPresence(ctx, presence); err != nil {
			return fmt.Errorf("PUBLISH for %s: %w", user, err)
		}
	}
	return p.publishOK(req, tx, pub.refresh(expires), expires)
}

// parsePIDF decodes a PUBLISH body into a core presence for user.
func (p *presenceServer) parsePIDF(req *sipmsg.Request, user crosstalk.Address) (*crosstalk.Presence, error) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(strings.SplitN(h.Value(), ";", 2)[0]))
	}
	if ct != sipmap.PIDFContentType {
		return nil, statusErr(415, "Unsupported Media Type", sipmsg.NewHeader("Accept", sipmap.PIDFContentType))
	}
	body := req.Body()
	if len(body) > p.cfg.MaxBodySize {
		return nil, statusErr(413, "Request Entity Too Large")
	}
	var doc sipmap.PIDF
	if err := xmlguard.Decode(bytes.NewReader(body), xmlguard.DocumentLimits(int64(p.cfg.MaxBodySize)), &doc); err != nil {
		return nil, &StatusError{Code: 400, Reason: "Bad Request (PIDF)", Err: err}
	}
	pres, err := sipmap.PresenceFromPIDF(&doc)
	if err != nil {
		return nil, &StatusError{Code: 400, Reason: "Bad Request (PIDF entity)", Err: err}
	}
	if pres.From.Bare() != user {
		return nil, &StatusError{Code: 403, Reason: "Forbidden (PIDF entity is another account)", Err: crosstalk.ErrForbidden}
	}
	pres.Time = time.Time{}
	pres.Native = crosstalk.Native{Protocol: crosstalk.ProtocolSIP, ContentType: sipmap.PIDFContentType, Payload: append([]byte(nil), body...)}
	return &pres, nil
}

// createPublication binds a new publication endpoint and sets its presence.
func (p *presenceServer) createPublication(ctx context.Context, owner crosstalk.Address, pres *crosstalk.Presence) (*publication, error) {
	etag := newETag()
	addr, err := owner.WithResource("pub-" + etag[:12])
	if err != nil {
		return nil, fmt.Errorf("publication resource: %w", err)
	}
	pub := &publication{p: p, owner: owner, addr: addr, etag: etag}
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return nil, crosstalk.ErrShuttingDown
	case p.perPubs[owner] >= p.cfg.MaxPublicationsPerAccount:
		p.mu.Unlock()
		return nil, statusErr(403, "Forbidden (too many publications)")
	}
	p.perPubs[owner]++
	p.pubs[etag] = pub
	p.mu.Unlock()
	if _, err := p.s.hub.Bind(ctx, addr, pub); err != nil {
		p.forgetPublication(etag, pub)
		return nil, fmt.Errorf("PUBLISH for %s: %w", owner, err)
	}
	pres.From = addr
	if err := p.s.hub.SetPresence(ctx, pres); err != nil {
		p.removePublication(ctx, pub)
		return nil, fmt.Errorf("PUBLISH for %s: %w", owner, err)
	}
	return pub, nil
}

// refresh gives the publication a new entity tag (RFC 3903 §6: every
// successful PUBLISH gets a fresh one) and expiry, and returns the tag.
func (pub *publication) refresh(d time.Duration) string {
	etag := newETag()
	pub.mu.Lock()
	old := pub.etag
	pub.etag = etag
	if pub.timer != nil {
		pub.timer.Stop()
	}
	pub.timer = time.AfterFunc(d, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pub.p.removePublication(ctx, pub)
	})
	pub.mu.Unlock()
	pub.p.mu.Lock()
	if pub.p.pubs[old] == pub {
		delete(pub.p.pubs, old)
		pub.p.pubs[etag] = pub
	}
	pub.p.mu.Unlock()
	return etag
}

// publicationOf returns owner's publication with etag, or nil.
func (p *presenceServer) publicationOf(etag string, owner crosstalk.Address) *publication {
	p.mu.Lock()
	defer p.mu.Unlock()
	pub := p.pubs[etag]
	if pub == nil || pub.owner != owner {
		return nil
	}
	return pub
}

// removePublication ends a publication: its presence leaves the aggregate.
func (p *presenceServer) removePublication(ctx context.Context, pub *publication) {
	pub.mu.Lock()
	if pub.timer != nil {
		pub.timer.Stop()
	}
	etag := pub.etag
	pub.mu.Unlock()
	if !p.forgetPublication(etag, pub) {
		return
	}
	p.s.hub.Unbind(ctx, pub.addr, pub, nil)
}

// forgetPublication drops a publication from the table; false when it was
// gone already.
func (p *presenceServer) forgetPublication(etag string, pub *publication) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pubs[etag] != pub {
		return false
	}
	delete(p.pubs, etag)
	if p.perPubs[pub.owner]--; p.perPubs[pub.owner] <= 0 {
		delete(p.perPubs, pub.owner)
	}
	return true
}

func (p *presenceServer) publishOK(req *sipmsg.Request, tx sipmsg.ServerTransaction, etag string, expires time.Duration) error {
	hdrs := []sipmsg.Header{sipmsg.NewHeader("Expires", strconv.Itoa(int(expires/time.Second)))}
	if etag != "" {
		hdrs = append(hdrs, sipmsg.NewHeader("SIP-ETag", etag))
	}
	return p.s.respond(tx, req, 200, "OK", hdrs...)
}
