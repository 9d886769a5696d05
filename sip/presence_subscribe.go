package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// Event packages served (RFC 6665 §8.2); others get 489 Bad Event.
const allowEvents = "presence, presence.winfo"

// pidfContentType is the media type of a presence NOTIFY body.
const pidfContentType = sipmap.PIDFContentType

// buddiesSuffix names an account's resource list: sip:{user}-buddies@{domain}
// (the service URI sip/xcap advertises in rls-services).
const buddiesSuffix = "-buddies"

func renderPresence(entity crosstalk.Address, p *crosstalk.Presence) ([]byte, error) {
	return sipmap.RenderPIDF(entity, p)
}

// handleSubscribe serves SUBSCRIBE (RFC 6665) for the presence (RFC 3856),
// presence.winfo (RFC 3857) and, to an account's buddy-list URI with
// Supported: eventlist, resource-list (RFC 4662) packages. The watcher must
// be a local account and authenticate with digest (407); watchers on other
// domains are refused (403: no federation). A SUBSCRIBE with a To tag
// refreshes or, with Expires: 0, ends its subscription.
func (p *presenceServer) handleSubscribe(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
	if err := requireOnly(req, "eventlist"); err != nil {
		return err
	}
	event, eventID := parseEvent(headerValue(req, "Event"))
	var kind subKind
	switch event {
	case "presence":
		kind = kindPresence
	case "presence.winfo":
		kind = kindWinfo
	default:
		return statusErr(489, "Bad Event", sipmsg.NewHeader("Allow-Events", allowEvents))
	}
	expires, err := p.expires(req)
	if err != nil {
		return err
	}
	watcher, err := p.authenticateWatcher(ctx, req)
	if err != nil {
		return err
	}
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		return p.refresh(ctx, req, tx, watcher, tag, expires)
	}
	presentity, list, err := p.resolveTarget(ctx, req, watcher)
	if err != nil {
		return err
	}
	if list {
		if kind != kindPresence {
			return statusErr(489, "Bad Event (resource lists serve presence only)", sipmsg.NewHeader("Allow-Events", "presence"))
		}
		if !supports(req, "eventlist") {
			return statusErr(421, "Extension Required", sipmsg.NewHeader("Require", "eventlist"))
		}
		kind = kindList
	}
	if err := checkAccept(req, kind); err != nil {
		return err
	}
	if kind == kindWinfo && presentity != watcher {
		return &StatusError{Code: 403, Reason: "Forbidden (watcher information of another account)", Err: crosstalk.ErrForbidden}
	}
	sub := p.newSubscription(req, kind, eventID, watcher, presentity)
	if err := p.add(sub); err != nil {
		return err
	}
	state := stateActive
	if kind == kindPresence {
		if state, err = p.initialState(ctx, watcher, presentity); err != nil {
			p.remove(sub)
			return err
		}
	}
	if kind == kindList {
		if err := p.loadList(ctx, sub); err != nil {
			p.remove(sub)
			return err
		}
	}
	sub.mu.Lock()
	sub.state = state
	sub.authorised = state == stateActive
	sub.full = true
	sub.mu.Unlock()
	if err := p.accept(req, tx, sub, expires); err != nil {
		p.remove(sub)
		return err
	}
	if expires == 0 {
		sub.terminate("timeout") // a fetch (RFC 6665 §4.4.3)
		sub.start()
		return nil
	}
	sub.setExpiry(expires)
	sub.start()
	return nil
}

// initialState authorises a new presence subscription from the roster; a
// watcher the presentity has not approved sends a subscription request
// through the hub (the account sees it on every protocol) and waits.
func (p *presenceServer) initialState(ctx context.Context, watcher, presentity crosstalk.Address) (subState, error) {
	if blocked, err := p.s.store.IsBlocked(ctx, presentity, watcher); err != nil || blocked {
		if err != nil {
			return stateTerminated, fmt.Errorf("blocklist of %s: %w", presentity, err)
		}
		return stateTerminated, &StatusError{Code: 403, Reason: "Forbidden", Err: crosstalk.ErrForbidden}
	}
	st, err := p.authState(ctx, presentity, watcher)
	if err != nil || st == stateActive {
		return st, err
	}
	req := &crosstalk.Presence{From: watcher, To: presentity, Type: crosstalk.PresenceSubscribe}
	if err := p.s.hub.SetPresence(ctx, req); err != nil {
		return stateTerminated, fmt.Errorf("subscription request of %s to %s: %w", watcher, presentity, err)
	}
	if st, err = p.authState(ctx, presentity, watcher); err != nil || st == stateActive {
		return st, err // pre-approved
	}
	return statePending, nil
}

// authenticateWatcher returns the authenticated local account of the From.
func (p *presenceServer) authenticateWatcher(ctx context.Context, req *sipmsg.Request) (crosstalk.Address, error) {
	from, err := sipmap.ParseURI(req.From().Address.String())
	if err != nil {
		return crosstalk.Address{}, fmt.Errorf("SUBSCRIBE from: %w", err)
	}
	if !p.s.isLocalDomain(from.Domain()) {
		return crosstalk.Address{}, &StatusError{Code: 403, Reason: "Forbidden (watchers on other domains are not served: no federation yet)", Err: crosstalk.ErrRemoteNotSupported}
	}
	user, err := p.s.authenticate(ctx, req, proxyAuth, from.Domain())
	if err != nil {
		return crosstalk.Address{}, err
	}
	if user != from.Bare() {
		return crosstalk.Address{}, &StatusError{Code: 403, Reason: "Forbidden (From is not the authenticated user)", Err: crosstalk.ErrNotAuthorized}
	}
	return user, nil
}

// resolveTarget returns the account a SUBSCRIBE or PUBLISH is for and
// whether it names that account's buddy list (only its owner may use it).
func (p *presenceServer) resolveTarget(ctx context.Context, req *sipmsg.Request, watcher crosstalk.Address) (crosstalk.Address, bool, error) {
	u := req.Recipient
	if p.s.isSelf(&u) || u.User == "" {
		u = req.To().Address
	}
	if !p.s.isLocalDomain(u.Host) {
		return crosstalk.Address{}, false, &StatusError{Code: 403, Reason: "Forbidden (presentities on other domains are not served: no federation yet)", Err: crosstalk.ErrRemoteNotSupported}
	}
	target, err := sipmap.ParseURI((&sipmsg.Uri{Scheme: "sip", User: u.User, Host: u.Host}).String())
	if err != nil || target.Local() == "" {
		return crosstalk.Address{}, false, statusErr(404, "Not Found")
	}
	target = target.Bare()
	if _, err := p.s.store.GetAccount(ctx, target); err == nil {
		return target, false, nil
	}
	if owner, ok := strings.CutSuffix(u.User, buddiesSuffix); ok && owner != "" {
		if oa, err := crosstalk.NewAddress(owner, u.Host, ""); err == nil && oa == watcher {
			return oa, true, nil
		} else if err == nil {
			if _, gerr := p.s.store.GetAccount(ctx, oa); gerr == nil {
				return crosstalk.Address{}, false, &StatusError{Code: 403, Reason: "Forbidden (another account's resource list)", Err: crosstalk.ErrForbidden}
			}
		}
	}
	return crosstalk.Address{}, false, statusErr(404, "Not Found")
}

// newSubscription takes the dialog from the SUBSCRIBE (RFC 6665 §4.2.1): we
// are the UAS, so our NOTIFYs go from the To to the From, to the Contact,
// through the Record-Route set, and back over the flow the request came on
// (a TCP/TLS/WebSocket connection, or a NATed UDP source).
func (p *presenceServer) newSubscription(req *sipmsg.Request, kind subKind, eventID string, watcher, presentity crosstalk.Address) *subscription {
	fromTag, _ := req.From().Params.Get("tag")
	localTag := sipmsg.GenerateTagN(16)
	sub := &subscription{
		p: p, kind: kind, eventID: eventID, watcher: watcher, presentity: presentity,
		callID: callID(req), localTag: localTag, remoteTag: fromTag,
		localURI: req.To().Address, remoteURI: req.From().Address,
		target: req.From().Address,
	}
	sub.key = dialogKey(sub.callID, localTag, fromTag)
	if c := req.Contact(); c != nil {
		sub.target = c.Address
	}
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*sipmsg.RecordRouteHeader); ok {
			sub.routes = append(sub.routes, rr.Address)
		}
	}
	tp := strings.ToLower(req.Transport())
	if len(sub.routes) == 0 {
		if tp != "udp" || behindNAT(sub.target.String(), req.Source()) {
			sub.transport, sub.dest = strings.ToUpper(tp), req.Source()
		}
	}
	sub.contact = sipmsg.Uri{Scheme: "sip", User: sub.localURI.User, Host: p.s.host, Port: p.s.port(tp)}
	if tp != "udp" && tp != "" {
		sub.contact.UriParams = sipmsg.NewParams()
		sub.contact.UriParams.Add("transport", tp)
	}
	return sub
}

func dialogKey(callID, localTag, remoteTag string) string {
	return callID + "\x00" + localTag + "\x00" + remoteTag
}

// accept answers 200 with our tag, the granted Expires and our Contact.
func (p *presenceServer) accept(req *sipmsg.Request, tx sipmsg.ServerTransaction, sub *subscription, expires time.Duration) error {
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	res.RemoveHeader("To")
	to := &sipmsg.ToHeader{Address: req.To().Address, Params: sipmsg.NewParams()}
	to.Params.Add("tag", sub.localTag)
	res.AppendHeader(to)
	res.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	res.AppendHeader(&sipmsg.ContactHeader{Address: sub.contact})
	if sub.kind == kindList {
		res.AppendHeader(sipmsg.NewHeader("Require", "eventlist"))
	}
	p.s.addServer(res)
	if err := tx.Respond(res); err != nil {
		return fmt.Errorf("respond 200 to SUBSCRIBE: %w", err)
	}
	return nil
}

// refresh handles a SUBSCRIBE inside an existing dialog: a new expiry and
// an immediate NOTIFY, or with Expires: 0 the end of the subscription.
func (p *presenceServer) refresh(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction, watcher crosstalk.Address, tag string, expires time.Duration) error {
	fromTag, _ := req.From().Params.Get("tag")
	sub := p.lookup(dialogKey(callID(req), tag, fromTag))
	if sub == nil || sub.watcher != watcher {
		return statusErr(481, "Subscription Does Not Exist")
	}
	if err := p.accept(req, tx, sub, expires); err != nil {
		return err
	}
	if expires == 0 {
		sub.terminate("timeout")
		return nil
	}
	sub.setExpiry(expires)
	sub.changed(crosstalk.Address{}, true)
	if sub.kind == kindPresence {
		p.authorise(ctx, sub) // the blocklist may have changed
	}
	return nil
}

// expires reads the requested duration: absent is DefaultExpires, 0 ends
// or fetches, below MinExpires is 423, above MaxExpires is cut down.
func (p *presenceServer) expires(req *sipmsg.Request) (time.Duration, error) {
	v := strings.TrimSpace(headerValue(req, "Expires"))
	if v == "" {
		return p.cfg.DefaultExpires, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, statusErr(400, "Bad Request (Expires)")
	}
	d := time.Duration(n) * time.Second
	switch {
	case n == 0:
		return 0, nil
	case d < p.cfg.MinExpires:
		return 0, statusErr(423, "Interval Too Brief", sipmsg.NewHeader("Min-Expires", strconv.Itoa(int(p.cfg.MinExpires/time.Second))))
	case d > p.cfg.MaxExpires:
		return p.cfg.MaxExpires, nil
	}
	return d, nil
}

// parseEvent splits an Event header into the package and its id parameter.
func parseEvent(v string) (pkg, id string) {
	parts := strings.Split(v, ";")
	pkg = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, prm := range parts[1:] {
		if k, val, ok := strings.Cut(strings.TrimSpace(prm), "="); ok && strings.EqualFold(k, "id") {
			id = sipToken(strings.Trim(val, `"`))
		}
	}
	return pkg, id
}

// requireOnly answers 420 to a Require with option tags other than those
// of the validation layer and extra.
func requireOnly(req *sipmsg.Request, extra ...string) error {
	var bad []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			tag = strings.ToLower(strings.TrimSpace(tag))
			if tag == "" || supportedExtension(tag) || contains(extra, tag) {
				continue
			}
			bad = append(bad, tag)
		}
	}
	if len(bad) > 0 {
		return statusErr(420, "Bad Extension", sipmsg.NewHeader("Unsupported", strings.Join(bad, ", ")))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkAccept answers 406 when the SUBSCRIBE's Accept headers name none of
// the body types the package's NOTIFYs carry (RFC 6665 §4.2.1.1); no
// Accept means the package's default.
func checkAccept(req *sipmsg.Request, kind subKind) error {
	want := []string{pidfContentType}
	switch kind {
	case kindWinfo:
		want = []string{winfoContentType}
	case kindList:
		want = []string{"multipart/related"}
	}
	hdrs := req.GetHeaders("Accept")
	if len(hdrs) == 0 {
		return nil
	}
	for _, h := range hdrs {
		for _, mt := range strings.Split(h.Value(), ",") {
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(mt, ";", 2)[0]))
			if mt == "*/*" || (mt == "application/*" && kind != kindList) || contains(want, mt) {
				return nil
			}
		}
	}
	return statusErr(406, "Not Acceptable", sipmsg.NewHeader("Accept", strings.Join(want, ", ")))
}

// sipToken keeps the RFC 3261 token characters of s, at most 64: an Event
// id is echoed in our NOTIFYs and must not carry anything else.
func sipToken(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.!%*_+`'~", r)) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
