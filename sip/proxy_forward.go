package sip

import (
	"context"
	"errors"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// prebuilt tells sipgo the request is complete: add nothing.
func prebuilt(*sipgo.Client, *sipmsg.Request) error { return nil }

// forward is the end of the proxy chain: ACK statelessly, everything else
// on one client transaction per target (parallel forking), relaying
// provisional responses, every 2xx, and otherwise the best final response
// (RFC 3261 §16.7), with CANCEL propagated to pending branches.
func (s *Server) forward(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
	st := stateOf(ctx)
	if len(st.targets) == 0 {
		return errNoTarget
	}
	if req.IsAck() {
		r := s.branchRequest(req, st.targets[0], false)
		if err := s.client.WriteRequest(r, prebuilt); err != nil {
			s.log.Debug().Err(err).Str("call_id", callID(req)).Msg("forwarding ACK failed")
		}
		return nil
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return statusErr(483, "Too Many Hops")
	}
	if toTag(req) != "" {
		// In a dialog: an ACK that arrived before this request leaves
		// first (ackorder.go).
		s.acks.wait(ctx, callID(req))
	}
	if req.IsInvite() {
		if err := s.respond(tx, req, 100, "Trying"); err != nil {
			return err
		}
	}
	recordRoute := !st.routed && toTag(req) == "" &&
		(req.IsInvite() || req.Method == sipmsg.SUBSCRIBE || req.Method == sipmsg.REFER || req.Method == sipmsg.NOTIFY)
	groups := byQ(st.targets)
	f := &fork{s: s, req: req, tx: tx, done: make(chan struct{}), recordRoute: recordRoute, groups: groups[1:]}
	// Before any branch starts, so that a CANCEL can never come first.
	if !tx.OnCancel(func(*sipmsg.Request) {
		// sipgo has answered the CANCEL and will answer the INVITE with
		// 487 itself: nothing more goes upstream.
		f.mu.Lock()
		f.final = true
		f.mu.Unlock()
		f.cancelAll()
		f.closeDone()
	}) {
		return nil // cancelled or ended already
	}
	for _, t := range groups[0] {
		f.start(s.branchRequest(req, t, recordRoute))
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		f.cancelAll()
		f.finish(sipmsg.NewResponseFromRequest(req, 408, "Request Timeout", nil))
	}
	return nil
}

// branchRequest copies req for one target (RFC 3261 §16.6): new
// Request-URI, Route from the binding's Path, Max-Forwards decremented, our
// Record-Route and Via on top.
func (s *Server) branchRequest(req *sipmsg.Request, t target, recordRoute bool) *sipmsg.Request {
	r := req.Clone()
	r.SetTransport("")
	r.SetDestination("")
	r.SetSource("")
	r.Recipient = *t.uri.Clone()
	if mf := req.MaxForwards(); mf != nil {
		// sipgo's Clone shares this header: replace it, never Dec it.
		dec := sipmsg.MaxForwardsHeader(mf.Val() - 1)
		r.ReplaceHeader(&dec)
	}
	for i := len(t.path) - 1; i >= 0; i-- {
		var u sipmsg.Uri
		if err := sipmsg.ParseUri(strings.Trim(t.path[i], "<>"), &u); err == nil {
			r.PrependHeader(&sipmsg.RouteHeader{Address: u})
		}
	}
	tp := targetTransport(r)
	if t.transport != "" {
		tp = t.transport
		r.SetDestination(t.dest)
	}
	r.SetTransport(tp)
	if recordRoute {
		// One Record-Route for the side the request came from; a second
		// one on top for the side it goes to when the transports differ
		// (RFC 5658 double record-routing), so each peer gets an entry it
		// can reach.
		in, out := strings.ToLower(req.Transport()), strings.ToLower(tp)
		r.PrependHeader(s.recordRoute(in, callID(req)))
		if out != in {
			r.PrependHeader(s.recordRoute(out, callID(req)))
		}
	}
	if v := r.Via(); v != nil {
		if _, ok := v.Params.Get("rport"); ok { // RFC 3581 §4
			if host, port, err := net.SplitHostPort(req.Source()); err == nil {
				v.Params.Add("rport", port)
				v.Params.Add("received", host)
			}
		}
	}
	via := &sipmsg.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: tp, Host: s.host, Port: s.port(strings.ToLower(tp)), Params: sipmsg.NewParams()}
	via.Params.Add("branch", branchPrefix+loopHash(req)+"."+sipmsg.GenerateBranchN(12)[len(sipmsg.RFC3261BranchMagicCookie):])
	via.Params.Add("rport", "")
	r.PrependHeader(via)
	return r
}

// targetTransport is the transport towards the next hop (the top Route,
// else the Request-URI): its transport parameter, TLS for sips, else UDP
// (RFC 3263 §4.1 without DNS). It never inherits the incoming transport.
func targetTransport(r *sipmsg.Request) string {
	u := r.Recipient
	if route := r.Route(); route != nil {
		u = route.Address
	}
	if v, ok := u.UriParams.Get("transport"); ok && v != "" {
		return strings.ToUpper(v)
	}
	if strings.EqualFold(u.Scheme, "sips") {
		return "TLS"
	}
	return "UDP"
}

// recordRoute is our Record-Route for one transport, with the dialog token.
func (s *Server) recordRoute(transport, callID string) *sipmsg.RecordRouteHeader {
	rr := &sipmsg.RecordRouteHeader{Address: sipmsg.Uri{Scheme: "sip", Host: s.host, Port: s.port(transport), UriParams: sipmsg.NewParams()}}
	rr.Address.UriParams.Add("transport", transport)
	rr.Address.UriParams.Add("lr", "")
	rr.Address.UriParams.Add(routeParam, s.routeToken(callID))
	return rr
}

// port returns our listening port for a transport, 0 if none.
func (s *Server) port(network string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ports[network]
}

func toTag(req *sipmsg.Request) string {
	v, _ := req.To().Params.Get("tag")
	return v
}

// fork is one proxied request and its branches.
type fork struct {
	s   *Server
	req *sipmsg.Request
	tx  sipmsg.ServerTransaction

	recordRoute bool

	mu sync.Mutex
	// groups are the targets not tried yet, by falling q-value: the next
	// group is forked when every branch of the current one failed without
	// a 6xx (RFC 3261 §16.6, sequential search by q, parallel within one).
	groups   [][]target
	branches []*branch
	pending  int
	best     *sipmsg.Response
	answered bool // a 2xx went upstream
	final    bool // the server transaction has its final response
	done     chan struct{}
}

type branch struct {
	req         *sipmsg.Request
	provisional bool
	cancelled   bool
	finished    bool
}

// start sends one branch and relays its responses.
func (f *fork) start(r *sipmsg.Request) {
	b := &branch{req: r}
	f.mu.Lock()
	if f.final { // cancelled or answered meanwhile
		f.mu.Unlock()
		return
	}
	f.branches = append(f.branches, b)
	f.pending++
	f.mu.Unlock()
	go f.s.runBranch(f, b)
}

// runBranch runs one client transaction to its end. Timer C bounds an
// INVITE branch (RFC 3261 §16.6 step 11).
func (s *Server) runBranch(f *fork, b *branch) {
	limit := sipmsg.Timer_F
	if b.req.IsInvite() {
		limit = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	toTCP := func() {
		b.req.SetTransport("TCP")
		via := b.req.Via()
		via.Transport = "TCP"
		via.Port = s.port("tcp")
	}
	if tooBigForUDP(b.req) { // RFC 3261 §18.1.1
		toTCP()
	}
	ctc, err := s.client.TransactionRequest(ctx, b.req, prebuilt)
	if errorsIsMTU(err) {
		toTCP()
		ctc, err = s.client.TransactionRequest(ctx, b.req, prebuilt)
	}
	if err != nil {
		s.log.Info().Err(err).Str("call_id", callID(b.req)).Str("target", b.req.Recipient.String()).Msg("branch failed")
		f.branchDone(b, sipmsg.NewResponseFromRequest(f.req, 480, "Temporarily Unavailable", nil))
		return
	}
	defer ctc.Terminate()
	for {
		select {
		case res := <-ctc.Responses():
			if res == nil {
				continue
			}
			s.log.Debug().Str("response", res.StartLine()).Str("call_id", callID(res)).Msg("branch response")
			if res.IsProvisional() {
				f.provisional(b, res)
				continue
			}
			f.branchDone(b, res)
			if !res.IsSuccess() || !f.req.IsInvite() {
				return
			}
		case <-ctx.Done():
			f.cancelAll()
			f.branchDone(b, sipmsg.NewResponseFromRequest(f.req, 408, "Request Timeout", nil))
			return
		case <-ctc.Done():
			f.branchDone(b, sipmsg.NewResponseFromRequest(f.req, 408, "Request Timeout", nil))
			return
		}
	}
}

// provisional relays a 1xx (other than 100) upstream and sends a CANCEL
// that was waiting for it.
func (f *fork) provisional(b *branch, res *sipmsg.Response) {
	f.mu.Lock()
	b.provisional = true
	cancel := b.cancelled
	final := f.final
	f.mu.Unlock()
	if cancel {
		f.s.cancelBranch(b)
		return
	}
	if res.StatusCode == 100 || final {
		return
	}
	f.relay(res)
}

// branchDone records a final response of a branch: every 2xx goes
// upstream at once (and cancels the others for INVITE), a 6xx cancels the
// others, and when the last branch ends the best response goes upstream.
func (f *fork) branchDone(b *branch, res *sipmsg.Response) {
	f.mu.Lock()
	first := !b.finished
	if first {
		b.finished = true
		f.pending--
	}
	switch {
	case res.IsSuccess():
		f.answered = true
		f.final = true
		f.mu.Unlock()
		f.relay(res)
		if f.req.IsInvite() {
			f.cancelAll()
		}
		f.closeDone()
		return
	case res.StatusCode >= 600:
		if f.best == nil || f.best.StatusCode < 600 {
			f.best = res
		}
	case better(res, f.best):
		f.best = res
	}
	last := f.pending == 0 && !f.final
	six := res.StatusCode >= 600
	var next []target
	if last && !six && len(f.groups) > 0 {
		next, f.groups = f.groups[0], f.groups[1:]
		last = false
	}
	f.mu.Unlock()
	if six && f.req.IsInvite() {
		f.cancelAll()
	}
	for _, t := range next {
		f.start(f.s.branchRequest(f.req, t, f.recordRoute))
	}
	if last {
		f.finish(nil)
	}
}

// byQ groups targets by q-value, highest first, keeping their order
// within a group.
func byQ(targets []target) [][]target {
	sorted := append([]target(nil), targets...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].q > sorted[j].q })
	var groups [][]target
	for i, t := range sorted {
		if i == 0 || t.q != sorted[i-1].q {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], t)
	}
	return groups
}

// better reports whether a is a better final response than b (RFC 3261
// §16.7 step 6): the lowest class wins, 6xx aside.
func better(a, b *sipmsg.Response) bool {
	if b == nil {
		return true
	}
	if b.StatusCode >= 600 {
		return false
	}
	return a.StatusCode/100 < b.StatusCode/100
}

// finish sends the best response (or fallback) upstream once.
func (f *fork) finish(fallback *sipmsg.Response) {
	f.mu.Lock()
	if f.final {
		f.mu.Unlock()
		return
	}
	f.final = true
	res := f.best
	f.mu.Unlock()
	if res == nil {
		res = fallback
	}
	if res != nil {
		if res.StatusCode == 503 { // RFC 3261 §16.7 step 6
			res = res.Clone()
			res.StatusCode, res.Reason = 500, "Server Internal Error"
		}
		f.relay(res)
	}
	f.closeDone()
}

func (f *fork) closeDone() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.done:
	default:
		close(f.done)
	}
}

// relay strips our Via and sends a response upstream: on the server
// transaction, or statelessly once that has ended (further 2xx of a fork).
func (f *fork) relay(res *sipmsg.Response) {
	up := res.Clone()
	if v := up.Via(); v != nil && f.s.isSelf(&sipmsg.Uri{Host: v.Host, Port: v.Port}) {
		up.RemoveHeader("Via")
	}
	if up.Via() == nil {
		// A response we synthesised from the upstream request already has
		// the upstream Vias only.
		up = res
	}
	// Send it where a response of our own would go (the upstream request's
	// source and Via, RFC 3581), not back where the branch answered from.
	ref := sipmsg.NewResponseFromRequest(f.req, 100, "Trying", nil)
	up.SetTransport(ref.Transport())
	up.SetDestination(ref.Destination())
	f.s.log.Debug().Str("response", up.StartLine()).Str("call_id", callID(up)).Msg("relaying upstream")
	if err := f.tx.Respond(up); err != nil {
		f.s.log.Debug().Err(err).Msg("relay on the server transaction failed")
		if err := f.s.srv.WriteResponse(up); err != nil {
			f.s.log.Debug().Err(err).Str("call_id", callID(res)).Msg("relaying a response failed")
		}
	}
}

// cancelAll cancels every branch without a final response (RFC 3261
// §16.10); a branch without a provisional response yet is cancelled when
// one arrives.
func (f *fork) cancelAll() {
	if !f.req.IsInvite() {
		return
	}
	f.mu.Lock()
	var now []*branch
	for _, b := range f.branches {
		if b.finished || b.cancelled {
			continue
		}
		b.cancelled = true
		if b.provisional {
			now = append(now, b)
		}
	}
	f.mu.Unlock()
	for _, b := range now {
		f.s.cancelBranch(b)
	}
}

// cancelBranch sends CANCEL for a branch's INVITE (RFC 3261 §9.1).
func (s *Server) cancelBranch(b *branch) {
	inv := b.req
	c := sipmsg.NewRequest(sipmsg.CANCEL, *inv.Recipient.Clone())
	c.AppendHeader(inv.Via().Clone())
	for _, r := range inv.GetHeaders("Route") {
		c.AppendHeader(sipmsg.HeaderClone(r))
	}
	c.AppendHeader(sipmsg.HeaderClone(inv.From()))
	c.AppendHeader(sipmsg.HeaderClone(inv.To()))
	c.AppendHeader(sipmsg.HeaderClone(inv.CallID()))
	c.AppendHeader(&sipmsg.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sipmsg.CANCEL})
	mf := sipmsg.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	c.SetBody(nil)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), sipmsg.Timer_F)
		defer cancel()
		if _, err := s.client.Do(ctx, c, prebuilt); err != nil {
			s.log.Debug().Err(err).Str("call_id", callID(c)).Msg("CANCEL of a branch failed")
		}
	}()
}

func errorsIsMTU(err error) bool { return errors.Is(err, sipmsg.ErrUDPMTUCongestion) }
