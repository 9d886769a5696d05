package sip

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// binding is one registration binding (RFC 3261 §10) as a hub endpoint: a
// bounded mailbox drained by one writer goroutine that sends each message
// as a MESSAGE request to the contact (RFC 3428). What it cannot deliver
// goes back to the hub through Unbind, which re-routes it to the account's
// other endpoints or stores it offline: nothing is lost.
type binding struct {
	s    *Server
	addr crosstalk.Address // AOR/resource
	mb   *crosstalk.Mailbox

	mu  sync.Mutex
	reg crosstalk.Registration
	// contactURI is reg.Contact parsed (nil when it does not parse), kept
	// so that neither the REGISTER 200 nor each MESSAGE parses it again.
	contactURI *sipmsg.Uri
	// rendered is what render derives from reg once per change rather
	// than once per request.
	rendered rendering
	// storedExpires is the expiry last queued for the store; a refresh
	// that changes only the expiry (and CSeq) is stored lazily, see
	// registrar.refresh.
	storedExpires time.Time
	// dirty is set while the registration differs from what was queued.
	dirty bool

	// rooms is what the writer knows of the rooms the binding occupies
	// (room.go); only the writer goroutine touches it.
	rooms map[crosstalk.Address]roomSelf

	done      chan struct{}
	closeOnce sync.Once
	exited    chan struct{}
}

var _ crosstalk.Endpoint = (*binding)(nil)

func newBinding(s *Server, addr crosstalk.Address, reg crosstalk.Registration) *binding {
	b := &binding{
		s:             s,
		addr:          addr,
		reg:           reg,
		storedExpires: reg.Expires,
		mb:            crosstalk.NewMailbox(s.cfg.MailboxCount, s.cfg.MailboxBytes),
		done:          make(chan struct{}),
		exited:        make(chan struct{}),
	}
	b.contactURI = parseContact(reg.Contact)
	b.rendered = render(reg, b.contactURI)
	return b
}

// rendering is what a binding's requests and REGISTER 200s need from its
// registration, worked out when the registration changes: under
// ctload sip-register an AOR has up to 32 bindings, each listed in every
// 200 (RFC 3261 §10.3 step 8), and each MESSAGE to a binding looked up its
// flow afresh (parsing the Contact again).
type rendering struct {
	// head is the Contact header value up to its parameters ("<uri>"),
	// tail its parameters after expires (";+sip.instance=…;reg-id=…;q=…",
	// without the GRUUs); both empty when the Contact does not parse.
	head, tail string
	// flowTP and flowDest reach the binding over its flow (flowOf).
	flowTP, flowDest string
	flowOK           bool
	// tp and dest are where sipgo would send a request to the Contact
	// through the Path (its Request.Transport and Destination), worked out
	// once: sipgo works them out on each call, parsing the Route header
	// each time, and allocating when there is none.
	tp, dest string
}

// render works out a rendering of reg; contact is reg.Contact parsed, or nil.
func render(reg crosstalk.Registration, contact *sipmsg.Uri) rendering {
	var r rendering
	r.flowTP, r.flowDest, r.flowOK = flowOf(reg)
	if contact == nil {
		return r
	}
	probe := sipmsg.NewRequest(sipmsg.MESSAGE, *contact.Clone())
	for _, u := range pathRoutes(reg.Path) {
		probe.AppendHeader(&sipmsg.RouteHeader{Address: u})
	}
	r.tp, r.dest = probe.Transport(), probe.Destination()
	var sb strings.Builder
	sb.WriteByte('<')
	contact.StringWrite(&sb)
	sb.WriteByte('>')
	r.head = sb.String()
	// The parameters as handleRegister wrote them with sipgo's
	// ContactHeader (same order, same quoting), minus expires.
	params := sipmsg.NewParams()
	if reg.InstanceID != "" {
		params.Add("+sip.instance", `"<`+reg.InstanceID+`>"`)
		if reg.RegID > 0 {
			params.Add("reg-id", strconv.Itoa(reg.RegID))
		}
	}
	if reg.Q != 1000 {
		params.Add("q", formatQ(reg.Q))
	}
	if params.Length() > 0 {
		sb.Reset()
		sb.WriteByte(';')
		params.ToStringWrite(';', &sb)
		r.tail = sb.String()
	}
	return r
}

// sameRendering reports whether two registrations render alike.
func sameRendering(a, b crosstalk.Registration) bool {
	return a.Contact == b.Contact && a.InstanceID == b.InstanceID && a.RegID == b.RegID && a.Q == b.Q &&
		a.Received == b.Received && slices.Equal(a.Path, b.Path)
}

func parseContact(contact string) *sipmsg.Uri {
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(contact, &u); err != nil {
		return nil
	}
	return &u
}

// setRegLocked replaces the registration; call with b.mu held.
func (b *binding) setRegLocked(reg crosstalk.Registration) {
	if reg.Contact != b.reg.Contact {
		b.contactURI = parseContact(reg.Contact)
	}
	if !sameRendering(b.reg, reg) {
		b.rendered = render(reg, b.contactURI)
	}
	b.reg = reg
}

// writeContact appends the binding's Contact as the REGISTER 200 lists it,
// expiry included (RFC 3261 §10.3 step 8), without GRUUs, to sb, and
// returns what the 200 needs of the registration. It writes nothing when
// the Contact does not parse (then instanceID is empty) or, with
// skipInstance, when the binding has an instance (whose Contact then
// needs GRUUs).
func (b *binding) writeContact(sb *strings.Builder, now time.Time, skipInstance bool) (instanceID string, regID int, written bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rendered.head == "" {
		return "", 0, false
	}
	if skipInstance && b.reg.InstanceID != "" {
		return b.reg.InstanceID, b.reg.RegID, false
	}
	var num [20]byte
	sb.WriteString(b.rendered.head)
	sb.WriteString(";expires=")
	sb.Write(strconv.AppendInt(num[:0], int64(b.reg.Expires.Sub(now).Round(time.Second)/time.Second), 10))
	sb.WriteString(b.rendered.tail)
	return b.reg.InstanceID, b.reg.RegID, true
}

// contact returns the registration, a copy of its parsed Contact (false
// when the Contact does not parse) and its rendering.
func (b *binding) contact() (crosstalk.Registration, sipmsg.Uri, rendering, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.contactURI == nil {
		return b.reg, sipmsg.Uri{}, b.rendered, false
	}
	return b.reg, *b.contactURI.Clone(), b.rendered, true
}

// Protocol returns crosstalk.ProtocolSIP.
func (b *binding) Protocol() crosstalk.Protocol { return crosstalk.ProtocolSIP }

// Deliver queues a message, or a room's presence (a notice for a SIP
// occupant, room.go), without blocking; ErrSlowConsumer when full. Other
// events are not queued: the writer would drop them (a UA learns presence
// by subscribing), and with many bindings per account the presence of
// each new one would otherwise make work for all the others.
func (b *binding) Deliver(ev crosstalk.Event) error {
	switch e := ev.(type) {
	case *crosstalk.Message:
	case *crosstalk.Presence:
		if e.From.IsZero() || !b.s.hub.IsRoomService(e.From) {
			return nil
		}
	default:
		return nil
	}
	return b.mb.Put(ev)
}

// Close ends the writer; it hands what was never sent back to the hub.
// An account whose password changed or that was deleted (ErrAccountGone)
// loses its cached digest credentials too.
func (b *binding) Close(reason error) {
	if errors.Is(reason, crosstalk.ErrAccountGone) {
		b.s.creds.forget(b.addr.Bare())
	}
	b.closeOnce.Do(func() { close(b.done) })
}

// closed reports whether Close was called.
func (b *binding) closed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

func (b *binding) registration() crosstalk.Registration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reg
}

// run is the binding's single writer.
func (b *binding) run() {
	defer close(b.exited)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-b.done:
			cancel() // in-flight sends give up; their messages go back to the hub
		case <-ctx.Done():
		}
	}()
	// Up to SendWindow MESSAGE transactions are in flight, started one
	// after the other in queue order on the binding's flow, so a UA that
	// handles requests in the order they arrive sees each sender's
	// messages in the order they were sent (design 006, "Send window").
	// seq numbers them so that what fails goes back to the hub in that
	// order too, whatever order the failures come in.
	var (
		buf     []crosstalk.Event
		sem     = make(chan struct{}, b.s.cfg.SendWindow)
		wg      sync.WaitGroup
		mu      sync.Mutex
		seq     uint64
		failed  []seqEvent
		failErr error
		failSig = make(chan struct{}, 1)
	)
	fail := func(n uint64, ev crosstalk.Event, err error) {
		mu.Lock()
		failed = append(failed, seqEvent{n, ev})
		if failErr == nil {
			failErr = err
		}
		mu.Unlock()
		select {
		case failSig <- struct{}{}:
		default:
		}
	}
	// finish waits for what is in flight and hands everything not
	// delivered back to the hub. A binding closed by the registrar is
	// already forgotten; one closed by the hub (slow consumer, account
	// gone) or found unreachable is forgotten now, so the UA's next
	// REGISTER binds it afresh.
	finish := func(pending []crosstalk.Event) {
		wg.Wait()
		mu.Lock()
		slices.SortFunc(failed, func(a, b seqEvent) int { return cmp.Compare(a.n, b.n) })
		left := make([]crosstalk.Event, 0, len(failed)+len(pending))
		for _, f := range failed {
			left = append(left, f.ev)
		}
		left = append(append(left, pending...), b.mb.Close()...)
		err := failErr
		mu.Unlock()
		if err != nil {
			b.s.log.Warn().Err(err).Str("aor", b.addr.Bare().String()).Str("contact", b.registration().Contact).
				Msg("binding unreachable; it is removed and its messages re-routed")
		}
		b.s.reg.forget(context.Background(), b)
		b.s.hub.Unbind(context.Background(), b.addr, b, left)
		if err != nil {
			b.Close(err)
		}
	}
	for {
		select {
		case <-b.done:
			finish(nil)
			return
		case <-failSig:
			finish(nil)
			return
		case <-b.mb.Ready():
			buf = b.mb.Take(buf[:0])
			for i, ev := range buf {
				select {
				case sem <- struct{}{}:
				case <-b.done:
					finish(append([]crosstalk.Event(nil), buf[i:]...))
					return
				case <-failSig:
					finish(append([]crosstalk.Event(nil), buf[i:]...))
					return
				}
				p := b.start(ctx, ev)
				seq++
				if p.tx == nil && p.err == nil {
					<-sem // nothing was sent: nothing to wait for
					continue
				}
				wg.Add(1)
				go func(n uint64, ev crosstalk.Event, p pending) {
					defer func() { <-sem; wg.Done() }()
					if err := b.wait(p); err != nil {
						fail(n, ev, err)
					}
				}(seq, ev, p)
			}
			clear(buf)
		}
	}
}

// seqEvent is an event with its place in the binding's send order.
type seqEvent struct {
	n  uint64
	ev crosstalk.Event
}

// errUnreachable reports a contact that gave no final response.
var errUnreachable = errors.New("contact unreachable")

// pending is a MESSAGE whose first transmission start sent (tx), or
// could not send (err), to be waited for by wait. The zero pending is an
// event that needed no request (dropped, or nothing to send).
type pending struct {
	ctx    context.Context
	cancel context.CancelFunc
	tx     sipmsg.ClientTransaction
	req    *sipmsg.Request
	m      *crosstalk.Message // a one-to-one message, bounced if refused
	err    error
}

// start sends one event's first transmission; wait waits for its outcome.
// Only messages are sent (SIMPLE presence is not built yet).
func (b *binding) start(ctx context.Context, ev crosstalk.Event) pending {
	out, display, send, isRoom := b.roomOutbound(ev) // room events for a SIP occupant (room.go)
	var m *crosstalk.Message
	if !isRoom {
		var ok bool
		m, ok = ev.(*crosstalk.Message)
		if !ok || m.SentCopy || m.ReceivedCopy || m.Type == crosstalk.MessageError {
			// SIP has no copies of one's own messages, and an error for a
			// MESSAGE that was answered already has nowhere to go.
			return pending{}
		}
		var err error
		if out, err = sipmap.MessageToSIP(m); err != nil {
			b.s.log.Debug().Err(err).Str("aor", b.addr.Bare().String()).Msg("message not renderable as SIP; dropped")
			return pending{}
		}
	} else if !send {
		return pending{}
	}
	req, bound, err := b.newRequest(sipmsg.MESSAGE, out)
	if err != nil {
		b.s.log.Warn().Err(err).Str("aor", b.addr.Bare().String()).Msg("building MESSAGE failed; dropped")
		return pending{}
	}
	if display != "" {
		req.From().DisplayName = display
		bound += 2*len(display) + len(` "" `)
	}
	// A UDP client transaction ends by itself with a timeout (Timer B,
	// 64·T1) and needs no context to send, so when DeliveryTimeout is no
	// shorter than that, the writer's context bounds the request: a
	// context with its own timer per MESSAGE was 3–4% of the bytes
	// allocated relaying one. Other transports may have to connect first,
	// which only the deadline bounds.
	p := pending{ctx: ctx, req: req, m: m}
	if b.s.cfg.DeliveryTimeout < sipmsg.Timer_B || !strings.EqualFold(req.Transport(), "UDP") {
		p.ctx, p.cancel = context.WithTimeout(ctx, b.s.cfg.DeliveryTimeout)
	}
	if p.tx, p.err = b.s.startRequest(p.ctx, req, bound); p.err != nil {
		p.tx = nil
	}
	return p
}

// wait waits for the outcome of what start sent. An error means the
// contact could not be reached, not that it refused the message.
func (b *binding) wait(p pending) error {
	if p.cancel != nil {
		defer p.cancel()
	}
	if p.err != nil {
		return fmt.Errorf("MESSAGE to %s: %w: %w", p.req.Recipient.String(), errUnreachable, p.err)
	}
	defer p.tx.Terminate()
	res, err := finalResponse(p.ctx, p.tx)
	if err != nil {
		return fmt.Errorf("MESSAGE to %s: %w: %w", p.req.Recipient.String(), errUnreachable, err)
	}
	if res.StatusCode == 408 || res.StatusCode == 430 {
		return fmt.Errorf("MESSAGE to %s: %w: %d", p.req.Recipient.String(), errUnreachable, res.StatusCode)
	}
	if res.StatusCode >= 300 {
		b.s.log.Info().Int("status", res.StatusCode).Str("aor", b.addr.Bare().String()).Str("call_id", callID(p.req)).
			Msg("binding refused a MESSAGE")
		if p.m != nil {
			b.bounce(p.m, res)
		}
	}
	return nil
}

// bounce tells the sender of a message that the binding refused it: a
// message of type error from the recipient, whose condition is the SIP
// status mapped by RFC 7247 §6.2 (486 Busy Here → recipient-unavailable,
// 404 → item-not-found, …). RFC 7572 §5: the XMPP sender learns of the
// failure as a stanza error. The hub drops errors addressed to a bare
// address, so a SIP sender (whose MESSAGE was answered already) gets none.
// A message to the bare address that the account's other endpoints got too
// is not bounced: it was delivered.
func (b *binding) bounce(m *crosstalk.Message, res *sipmsg.Response) {
	if m.To != b.addr {
		for _, p := range b.s.hub.PresenceOf(b.addr.Bare()) {
			if p.From != b.addr && !strings.HasPrefix(p.From.Resource(), "pub-") && p.Priority >= 0 {
				return
			}
		}
	}
	e := &crosstalk.Message{
		ID: m.ID, From: m.To, To: m.From, Type: crosstalk.MessageError,
		Body: m.Body, Thread: m.Thread,
		Error: sipmap.DeliveryErrorForStatus(res.StatusCode, res.Reason),
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.s.cfg.DeliveryTimeout)
	defer cancel()
	if err := b.s.hub.RouteMessage(ctx, e); err != nil {
		b.s.log.Debug().Err(err).Str("to", m.From.String()).Msg("delivery error not routed to the sender")
	}
}

// finalResponse waits for a client transaction's final response.
func finalResponse(ctx context.Context, tx sipmsg.ClientTransaction) (*sipmsg.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			if res != nil && !res.IsProvisional() {
				return res, nil
			}
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, sipmsg.ErrTransactionTerminated
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// newRequest builds an out-of-dialog request to the binding's contact,
// through its Path (RFC 3327) or straight to the address it registered
// from (RFC 5626 §5.3 flow reuse, RFC 3581 for NAT).
//
// bound is at least the length of the request once written (before the
// client transaction adds its Via), worked out from what went into it
// without writing it: see requestBound.
func (b *binding) newRequest(method sipmsg.RequestMethod, out sipmap.Outbound) (req *sipmsg.Request, bound int, err error) {
	reg, ruri, rd, ok := b.contact()
	if !ok {
		return nil, 0, fmt.Errorf("contact %q does not parse", reg.Contact)
	}
	req = sipmsg.NewRequest(method, ruri)
	// The URIs are parsed into the headers themselves: parsed into
	// variables and copied, they were two more allocations per request.
	from := &sipmsg.FromHeader{Params: sipmsg.HeaderParams{{K: "tag", V: sipmsg.GenerateTagN(16)}}}
	if err := sipmsg.ParseUri(out.From, &from.Address); err != nil {
		return nil, 0, fmt.Errorf("from %q: %w", out.From, err)
	}
	to := &sipmsg.ToHeader{Params: sipmsg.HeaderParams{}}
	if err := sipmsg.ParseUri(out.To, &to.Address); err != nil {
		return nil, 0, fmt.Errorf("to %q: %w", out.To, err)
	}
	req.AppendHeader(from)
	req.AppendHeader(to)
	cid := sipmsg.CallIDHeader(uuid.NewString())
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: method})
	mf := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, u := range pathRoutes(reg.Path) {
		req.AppendHeader(&sipmsg.RouteHeader{Address: u})
	}
	if out.Subject != "" {
		req.AppendHeader(sipmsg.NewHeader("Subject", out.Subject))
	}
	req.AppendHeader(sipmsg.NewHeader("User-Agent", b.s.cfg.UserAgent))
	ct := sipmsg.ContentTypeHeader(out.ContentType)
	req.AppendHeader(&ct)
	req.SetBody(out.Body)
	if rd.flowOK {
		req.SetTransport(rd.flowTP)
		req.SetDestination(rd.flowDest)
	} else {
		// What sipgo would work out from the Request-URI or the first
		// Route (render), set so that sipgo does not work it out on each
		// of its calls.
		req.SetTransport(rd.tp)
		req.SetDestination(rd.dest)
	}
	return req, requestBound(method, len(rd.head), out, reg.Path, b.s.cfg.UserAgent), nil
}

// requestBound is an upper bound on the written length of a request that
// newRequest builds with these parts, without writing it (writing it to
// count was 2–3% of the bytes allocated per MESSAGE: sipgo allocates as
// it formats each URI). headLen is the length of the rendered Contact,
// "<uri>", which is written exactly as the Request-URI. The From and To
// URIs are parsed from text and written again, so they count twice:
// sipgo writes back what it parsed, and the factor two leaves room for
// anything it might add (brackets, quoting). Every header's name, colon,
// space and CRLF fit within headerAllowance; the values of the fixed
// headers (Call-ID, CSeq, Max-Forwards, Content-Length, the From tag)
// within fixedAllowance.
func requestBound(method sipmsg.RequestMethod, headLen int, out sipmap.Outbound, path []string, userAgent string) int {
	const (
		headerAllowance = 24 // longest name used here (Content-Length, Max-Forwards…) + ": " + CRLF
		fixedAllowance  = 160
	)
	n := len(method) + len(" ") + headLen + len(" SIP/2.0\r\n") + fixedAllowance
	n += 2*len(out.From) + 2*len(out.To) + len(out.Subject) + len(userAgent) + len(out.ContentType) + len(out.Body)
	for _, p := range path {
		n += 2*len(p) + headerAllowance
	}
	return n + 10*headerAllowance + len("\r\n")
}

// pathRoutes parses a binding's Path (RFC 3327) into the Route URIs of
// requests to it, leaving out any entry that does not parse.
func pathRoutes(path []string) []sipmsg.Uri {
	var us []sipmsg.Uri
	for _, p := range path {
		var u sipmsg.Uri
		if err := sipmsg.ParseUri(strings.Trim(p, "<>"), &u); err == nil {
			us = append(us, u)
		}
	}
	return us
}

// flowOf returns the transport and address to reach a binding through the
// connection it registered on: for a binding over TCP, TLS or WebSocket
// (responses and requests must reuse the connection, RFC 3261 §18 and
// RFC 5626 §5.3), one that asked for outbound (reg-id), or a UDP one
// behind a NAT. Another UDP binding is reached at its Contact; one with a
// Path, through the Path.
func flowOf(reg crosstalk.Registration) (transport, dest string, ok bool) {
	if len(reg.Path) > 0 {
		return "", "", false
	}
	tp, hostport, found := strings.Cut(reg.Received, ":")
	if !found {
		return "", "", false
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		return "", "", false
	}
	if tp == "udp" && reg.RegID == 0 && !behindNAT(reg.Contact, hostport) {
		return "", "", false
	}
	return strings.ToUpper(tp), hostport, true
}

// behindNAT reports whether a UDP contact names a private address while
// the REGISTER came from another one: the UA is behind a NAT and only the
// address it registered from reaches it (the RFC 3581 idea applied to
// requests).
func behindNAT(contact, received string) bool {
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(contact, &u); err != nil {
		return false
	}
	c, err := netip.ParseAddr(strings.Trim(u.Host, "[]"))
	if err != nil || !c.IsPrivate() {
		return false
	}
	host, _, err := net.SplitHostPort(received)
	if err != nil {
		return false
	}
	r, err := netip.ParseAddr(host)
	return err == nil && r != c
}

// udpRequestLimit is the largest request sent over UDP; larger ones go over
// TCP (RFC 3261 §18.1.1: "larger than 1300 bytes and the path MTU is
// unknown"). Responses have no such switch (§18.2.2) and go back over UDP
// at any size.
const udpRequestLimit = 1300

// tooBigForUDP reports whether a UDP request must move to TCP. It counts
// the bytes the request serialises to without building the string (that
// copy was a fifth of the cost of a MESSAGE to a binding).
func tooBigForUDP(req *sipmsg.Request) bool {
	if !strings.EqualFold(req.Transport(), "UDP") {
		return false
	}
	if len(req.Body()) > udpRequestLimit {
		return true
	}
	var n byteCounter
	req.StringWrite(&n)
	return int(n) > udpRequestLimit
}

// byteCounter is an io.StringWriter that only counts.
type byteCounter int

// WriteString counts s.
func (c *byteCounter) WriteString(s string) (int, error) {
	*c += byteCounter(len(s))
	return len(s), nil
}

// requestSize is the length of a request once written, before the
// client transaction adds our Via.
func requestSize(req *sipmsg.Request) int {
	var n byteCounter
	req.StringWrite(&n)
	return int(n)
}

// viaAllowance is what a request grows by when the client transaction
// adds our Via (host, port, transport, branch, rport): a request that
// small enough with it goes out over UDP without keeping a copy for the
// TCP fallback.
const viaAllowance = 200

// startRequest starts a client transaction for a request. A UDP request
// too large for the path is sent over TCP instead (RFC 3261 §18.1.1),
// whether we see it first or sipgo refuses it.
//
// bound, when positive, is an upper bound on the request's written length
// (requestBound): one that leaves room for our Via spares writing the
// request out to count it.
func (s *Server) startRequest(ctx context.Context, req *sipmsg.Request, bound int) (sipmsg.ClientTransaction, error) {
	if !strings.EqualFold(req.Transport(), "UDP") || (bound > 0 && bound+viaAllowance <= udpRequestLimit) ||
		requestSize(req)+viaAllowance <= udpRequestLimit {
		// The common case: far from the limit, sent as it is.
		return s.client.TransactionRequest(ctx, req)
	}
	var tx sipmsg.ClientTransaction
	err := sipmsg.ErrUDPMTUCongestion
	if !tooBigForUDP(req) {
		tx, err = s.client.TransactionRequest(ctx, req.Clone())
	}
	if errors.Is(err, sipmsg.ErrUDPMTUCongestion) {
		tcp := req.Clone()
		tcp.SetTransport("TCP")
		if dst := tcp.Destination(); dst != "" {
			tcp.SetDestination(dst)
		}
		tx, err = s.client.TransactionRequest(ctx, tcp)
	}
	return tx, err
}
