package sip

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// proxyState travels down the proxy chain with one request.
type proxyState struct {
	// routed is true when the request came through a Route naming us: it
	// belongs to a dialog we record-routed.
	routed bool
	// targets are where the request goes; filled by the chain.
	targets []target
}

// target is one branch destination.
type target struct {
	uri sipmsg.Uri
	// transport and dest override where the branch is sent (the flow the
	// binding registered from); empty means resolve the URI.
	transport, dest string
	path            []string
	// q is the binding's q-value in thousandths; 1000 when not a binding.
	q int
}

type proxyKey struct{}

func stateOf(ctx context.Context) *proxyState {
	st, _ := ctx.Value(proxyKey{}).(*proxyState)
	return st
}

// proxyChain is the proxy as an ordered chain (CONVENTIONS.md habit 4):
// loop detection → loose routing → policy (authenticate) → local lookup →
// out-of-domain refusal → forward.
func (s *Server) proxyChain() Handler {
	start := func(next Handler) Handler {
		return func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
			return next(context.WithValue(ctx, proxyKey{}, &proxyState{}), req, tx)
		}
	}
	return chain(s.forward, start, s.detectLoop, s.looseRoute, s.policy, s.lookup)
}

// detectLoop answers 482 to a request that already passed here unchanged
// (RFC 3261 §16.3 step 4): one of the Vias is ours and carries the loop
// hash of this very request.
func (s *Server) detectLoop(next Handler) Handler {
	return func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
		if req.IsAck() || req.IsCancel() {
			return next(ctx, req, tx)
		}
		if req.MaxForwards().Val() == 0 {
			return statusErr(483, "Too Many Hops")
		}
		mark := branchPrefix + loopHash(req)
		for _, h := range req.GetHeaders("Via") {
			v, ok := h.(*sipmsg.ViaHeader)
			if !ok {
				continue
			}
			if b, _ := v.Params.Get("branch"); strings.HasPrefix(b, mark) && s.isSelf(&sipmsg.Uri{Host: v.Host, Port: v.Port}) {
				return statusErr(482, "Loop Detected")
			}
		}
		return next(ctx, req, tx)
	}
}

// branchPrefix starts the Via branch of every request we forward.
const branchPrefix = sipmsg.RFC3261BranchMagicCookie + "-ct"

// loopHash hashes what stays the same when a request loops back unchanged
// (RFC 3261 §16.6 step 8).
func loopHash(req *sipmsg.Request) string {
	h := sha256.New()
	tag := func(p sipmsg.HeaderParams) string { v, _ := p.Get("tag"); return v }
	fmt.Fprintf(h, "%s|%s|%s|%s|%d", req.Recipient.String(), tag(req.From().Params), tag(req.To().Params), callID(req), req.CSeq().SeqNo)
	for _, r := range req.GetHeaders("Route") {
		fmt.Fprintf(h, "|%s", r.Value())
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// looseRoute applies RFC 3261 §16.4: a Request-URI that is our own
// Record-Route (a strict router upstream) is replaced by the last Route; a
// top Route naming us is removed. A remaining Route is the next hop.
func (s *Server) looseRoute(next Handler) Handler {
	return func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
		st := stateOf(ctx)
		if s.isSelf(&req.Recipient) && req.Recipient.User == "" {
			routes := req.GetHeaders("Route")
			if len(routes) > 0 {
				if last, ok := routes[len(routes)-1].(*sipmsg.RouteHeader); ok {
					req.Recipient = *last.Address.Clone()
					token, _ := last.Address.UriParams.Get(routeParam)
					removeLast(req, "Route")
					st.routed = toTag(req) != "" && s.validRouteToken(callID(req), token)
				}
			}
		}
		// Our Routes on top (two after double record-routing) are ours to
		// remove. Only a request inside a dialog whose Record-Route we
		// wrote (the token proves it) passes on the route set; an initial
		// request with our Route preloaded (we are its outbound proxy) gets
		// the full policy.
		for i := 0; i < 2; i++ {
			r := req.Route()
			if r == nil || !s.isSelf(&r.Address) {
				break
			}
			token, _ := r.Address.UriParams.Get(routeParam)
			req.RemoveHeader("Route")
			st.routed = st.routed || (toTag(req) != "" && s.validRouteToken(callID(req), token))
		}
		if r := req.Route(); r != nil {
			if !st.routed {
				return &StatusError{Code: 403, Reason: "Forbidden (routes beyond this server only inside a dialog)", Err: crosstalk.ErrForbidden}
			}
			st.targets = []target{{uri: req.Recipient}}
		}
		return next(ctx, req, tx)
	}
}

// routeParam is the parameter of our Record-Route URI that carries the
// dialog's token.
const routeParam = "ct"

// routeToken binds a Record-Route to its dialog's Call-ID (HMAC with the
// server's key), so a request cannot claim a route set we never recorded
// to pass the policy.
func (s *Server) routeToken(callID string) string {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte("route|" + callID))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

func (s *Server) validRouteToken(callID, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.routeToken(callID)))
}

func removeLast(req *sipmsg.Request, name string) {
	hdrs := req.GetHeaders(name)
	keep := make([]sipmsg.Header, 0, len(hdrs))
	for _, h := range hdrs[:len(hdrs)-1] {
		if r, ok := h.(*sipmsg.RouteHeader); ok {
			keep = append(keep, r.Clone())
		}
	}
	for req.RemoveHeader(name) {
	}
	for _, h := range keep {
		req.AppendHeader(h)
	}
}

// policy decides who must authenticate (no open relay): a request in a
// dialog we record-routed passes; one claiming a local user in From, or
// going out of the domain, needs that user's digest credentials (407);
// credentials of another user than the From are refused (403).
func (s *Server) policy(next Handler) Handler {
	return func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
		st := stateOf(ctx)
		if req.IsAck() && !st.routed {
			// Not through a route set we recorded: the ACK of a non-2xx
			// answer whose transaction has ended (reliable transports end
			// it at once), which has nowhere to go.
			return nil
		}
		if st.routed || req.IsAck() || req.IsCancel() {
			return next(ctx, req, tx)
		}
		from, fromErr := crosstalk.ParseSIPURI(req.From().Address.String())
		fromLocal := fromErr == nil && s.isLocalDomain(from.Domain())
		toLocal := s.isLocalDomain(req.Recipient.Host)
		switch {
		case !fromLocal && toLocal:
			return next(ctx, req, tx) // from outside to a local user: no authentication
		case !fromLocal:
			return &StatusError{Code: 403, Reason: "Forbidden (relaying for other domains is not allowed)", Err: crosstalk.ErrForbidden}
		}
		user, err := s.authenticate(ctx, req, proxyAuth, from.Domain())
		if err != nil {
			return err
		}
		if user != from.Bare() {
			return &StatusError{Code: 403, Reason: "Forbidden (From is not the authenticated user)", Err: crosstalk.ErrNotAuthorized}
		}
		return next(ctx, req, tx)
	}
}

// lookup resolves a Request-URI in our domains to the AOR's bindings
// (parallel forking to all of them); any other domain is refused, since
// federation does not exist yet.
func (s *Server) lookup(next Handler) Handler {
	return func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
		st := stateOf(ctx)
		if len(st.targets) > 0 {
			return next(ctx, req, tx)
		}
		if req.IsCancel() {
			return statusErr(481, "Call/Transaction Does Not Exist")
		}
		if st.routed && !s.isLocalDomain(req.Recipient.Host) {
			st.targets = []target{{uri: req.Recipient}} // in-dialog: the peer's contact
			return next(ctx, req, tx)
		}
		if !s.isLocalDomain(req.Recipient.Host) {
			return fmt.Errorf("request to %s: %w", req.Recipient.Host, crosstalk.ErrRemoteNotSupported)
		}
		var bindings []*binding
		aor, b, isGRUU := s.gruuTarget(&req.Recipient)
		if isGRUU {
			if b == nil {
				return statusErr(480, "Temporarily Unavailable (GRUU not registered)")
			}
			bindings = []*binding{b} // RFC 5627 §3.2: that instance only
		} else {
			var err error
			if aor, err = crosstalk.ParseSIPURI(req.Recipient.String()); err != nil || aor.Local() == "" {
				return statusErr(404, "Not Found")
			}
			bindings = s.reg.list(aor)
		}
		if len(bindings) == 0 {
			if _, err := s.store.GetAccount(ctx, aor); err != nil {
				return fmt.Errorf("request to %s: %w", aor, err)
			}
			return statusErr(480, "Temporarily Unavailable")
		}
		for _, b := range bindings {
			reg := b.registration()
			var u sipmsg.Uri
			if err := sipmsg.ParseUri(reg.Contact, &u); err != nil {
				continue
			}
			t := target{uri: u, path: reg.Path, q: reg.Q}
			t.transport, t.dest, _ = flowOf(reg)
			st.targets = append(st.targets, t)
		}
		if len(st.targets) == 0 {
			return statusErr(480, "Temporarily Unavailable")
		}
		return next(ctx, req, tx)
	}
}

// errNoTarget reports a chain that produced no branch.
var errNoTarget = errors.New("no target")
