package sip

import (
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Handler handles one request. A handler that returns nil has answered the
// request (or, for ACK, forwarded or dropped it); one that returns an error
// has not, and the edge answers with StatusFor(err) and logs the error once.
type Handler func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error

// Middleware wraps a handler; chains are ordered outermost first.
type Middleware func(next Handler) Handler

// chain applies middlewares so that the first one runs first.
func chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// allowed lists the methods this server handles, for Allow headers.
const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, MESSAGE, UPDATE, INFO, PRACK, REFER, NOTIFY, SUBSCRIBE, PUBLISH"

// routes registers one handler per method (CONVENTIONS.md habit 4).
func (s *Server) routes() {
	common := []Middleware{s.recoverMW, s.loadMW, s.rateLimitMW, s.validateMW}
	on := func(method sipmsg.RequestMethod, h Handler) {
		s.srv.OnRequest(method, s.pool.wrap(s.edge(chain(h, common...))))
	}
	on(sipmsg.REGISTER, s.reg.handleRegister)
	on(sipmsg.MESSAGE, s.handleMessage)
	on(sipmsg.OPTIONS, s.handleOptions)
	p := s.proxyChain()
	for _, m := range []sipmsg.RequestMethod{sipmsg.INVITE, sipmsg.ACK, sipmsg.BYE, sipmsg.CANCEL, sipmsg.UPDATE, sipmsg.INFO, sipmsg.PRACK, sipmsg.REFER, sipmsg.NOTIFY} {
		on(m, p)
	}
	on(sipmsg.SUBSCRIBE, s.pres.handleSubscribe) // RFC 6665, 3856, 3857, 4662
	on(sipmsg.PUBLISH, s.pres.handlePublish)     // RFC 3903
	s.srv.OnNoRoute(s.pool.wrap(s.edge(chain(func(context.Context, *sipmsg.Request, sipmsg.ServerTransaction) error {
		return statusErr(501, "Not Implemented", sipmsg.NewHeader("Allow", allowed))
	}, common...))))
}

// edge adapts a Handler to sipgo: it gives the request a context that ends
// with its transaction, answers errors with their status and logs them once.
func (s *Server) edge(h Handler) func(*sipmsg.Request, sipmsg.ServerTransaction) {
	return func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		ctx, cancel := s.handlerContext(req, tx)
		defer cancel()
		if req.IsAck() {
			defer s.acks.handled(callID(req))
		}
		err := h(ctx, req, tx)
		if err == nil {
			return
		}
		code, reason := StatusFor(err)
		ev := s.log.Info()
		switch {
		case code == 401 || code == 407 || code == 503:
			ev = s.log.Debug() // a challenge is routine; logging each refusal would add to an overload
		case code >= 500 && code != 501 && code != 503:
			ev = s.log.Error()
		}
		if ev.Enabled() { // the fields cost allocations even when the level is off (every 401/407)
			ev.Err(err).Str("remote", req.Source()).Str("call_id", callID(req)).Str("method", string(req.Method)).
				Str("aor", toAOR(req)).Int("status", code).Msg("request refused")
		}
		if req.IsAck() || tx == nil {
			return
		}
		res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
		res.SipVersion = "SIP/2.0" // also to a request of another version (505)
		if se := asStatus(err); se != nil {
			for _, hdr := range se.Headers {
				res.AppendHeader(hdr)
			}
		}
		s.addServer(res)
		if err := tx.Respond(res); err != nil {
			s.log.Debug().Err(err).Str("call_id", callID(req)).Msg("sending an error response failed")
		}
	}
}

// handlerTimeout bounds a handler that hangs (a non-INVITE transaction's
// lifetime, 64·T1); an INVITE's handler waits up to Timer C.
const (
	handlerTimeout       = 32 * time.Second
	inviteHandlerTimeout = 3 * time.Minute // Timer C (RFC 3261 §16.6 step 11)
)

// handlerContext is the context a handler runs in. MESSAGE and REGISTER
// handlers answer by themselves and start nothing that outlives them, so
// they share a context that ends handlerTimeout (to a second) after they
// start (sharedDeadline). Every other request, which the proxy may fork
// or hold open, has a context of its own that ends when its handler
// returns (the caller calls the cancel function returned) or its
// transaction ends.
func (s *Server) handlerContext(req *sipmsg.Request, tx sipmsg.ServerTransaction) (context.Context, context.CancelFunc) {
	switch req.Method {
	case sipmsg.MESSAGE, sipmsg.REGISTER:
		return s.deadlines.context(time.Now(), handlerTimeout), func() {}
	}
	timeout := handlerTimeout
	if req.IsInvite() {
		timeout = inviteHandlerTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	if tx != nil {
		tx.OnTerminate(func(string, error) { cancel() })
	}
	return ctx, cancel
}

// respond answers req with a response built from it.
func (s *Server) respond(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, hdrs ...sipmsg.Header) error {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	s.addServer(res)
	if err := tx.Respond(res); err != nil {
		return fmt.Errorf("respond %d: %w", code, err)
	}
	return nil
}

func (s *Server) addServer(res *sipmsg.Response) {
	if headerNamed(res, "Server") == nil {
		res.AppendHeader(sipmsg.NewHeader("Server", s.cfg.UserAgent))
	}
}

func asStatus(err error) *StatusError {
	for err != nil {
		if se, ok := err.(*StatusError); ok {
			return se
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return nil
		}
		err = u.Unwrap()
	}
	return nil
}

// recoverMW turns a panic in a handler into 500, so malformed input never
// crashes the server.
func (s *Server) recoverMW(next Handler) Handler {
	return func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error().Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).Str("call_id", callID(req)).Msg("handler panicked")
				err = statusErr(500, "Server Internal Error")
			}
		}()
		return next(ctx, req, tx)
	}
}

// rateLimitMW answers 503 with Retry-After to a source above its rate.
func (s *Server) rateLimitMW(next Handler) Handler {
	return func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
		if wait, ok := s.limiter.allow(sourceIP(req)); !ok {
			secs := int(wait/time.Second) + 1
			return statusErr(503, "Service Unavailable (rate limited)", sipmsg.NewHeader("Retry-After", fmt.Sprint(secs)))
		}
		return next(ctx, req, tx)
	}
}

// validateMW refuses malformed requests before any routing.
func (s *Server) validateMW(next Handler) Handler {
	return func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
		if err := Validate(req); err != nil {
			return err
		}
		return next(ctx, req, tx)
	}
}

// readFilter drops oversized datagrams before parsing (the parser's limit
// catches the rest, streams included).
func (s *Server) readFilter(info sipmsg.TransportReadProps, data []byte) ([]byte, error) {
	if strings.EqualFold(info.Transport, "udp") && len(data) > s.cfg.MaxMessageSize {
		s.log.Debug().Int("bytes", len(data)).Str("remote", fmt.Sprint(info.RemoteAddr)).Msg("oversized datagram dropped")
		return nil, nil
	}
	if id, ok := rawACKCallID(data); ok {
		s.acks.arrived(id) // in arrival order (ackorder.go)
	}
	return data, nil
}

func callID(m sipmsg.Message) string {
	if h := m.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

// toAOR is the To header's user@host, for logs.
func toAOR(req *sipmsg.Request) string {
	if to := req.To(); to != nil {
		if to.Address.User == "" {
			return to.Address.Host
		}
		return to.Address.User + "@" + to.Address.Host
	}
	return ""
}

func sourceIP(req *sipmsg.Request) string {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return req.Source()
	}
	return host
}
