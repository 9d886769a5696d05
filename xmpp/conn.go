package xmpp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/last"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// run serves the bound session until it ends, over one connection or, with
// XEP-0198 resumption, several in turn; then it unbinds the session, hands
// back what it never delivered and calls exit. The session's reader does
// not stay on one goroutine: when the client is quiet, a fresh goroutine
// waits for its next bytes (waitOrHandOver), and when the quiet lasts, the
// reader ends and the waiter reads on, so a parked idle session keeps a
// small stack, not the one its busiest moment (TLS handshake, SCRAM, a
// store query) grew. run may therefore return before the session ends.
func (s *session) run(ctx context.Context, exit func()) {
	s.exit = exit
	s.srv.local.add(s)
	s.startConn(s.transport(), nil, nil)
	s.reading(ctx)
}

// reading runs the reader of the session's current connection on this
// goroutine until the client is quiet (then a fresh goroutine takes over
// in waitThenRead) or the session ends.
func (s *session) reading(ctx context.Context) {
	for {
		t := s.transport()
		err := s.readLoop(ctx, t)
		if errors.Is(err, errQuiet) {
			if s.waitOrHandOver(ctx, t) {
				continue
			}
			return
		}
		if !s.endConn(t, err) {
			s.stopWaiter()
			s.finish(ctx)
			return
		}
	}
}

// readerLinger is how long a reader whose client went quiet keeps its
// goroutine before handing over to the one waiting for the client.
const readerLinger = 250 * time.Millisecond

// handover states of a wait (waitOrHandOver).
const (
	waitPending = iota
	waitGaveUp  // the reader ended: the waiter reads on
	waitArrived // the waiter saw bytes: the reader reads on
)

// waiter is the goroutine that waits for a quiet client's next bytes on
// the reader's behalf. It lives as long as the session is busy, so a busy
// session starts it once, not at every quiet moment.
type waiter struct {
	req     chan *transport // reader → waiter: wait on this transport
	state   atomic.Int32
	arrived chan struct{} // waiter → reader: bytes (or an error) are buffered
}

// waitFor is the waiter's loop. When the reader has given up on a wait,
// the waiter reads on as the session's reader.
func (s *session) waitFor(ctx context.Context, w *waiter) {
	for t := range w.req {
		t.wait()
		if w.state.CompareAndSwap(waitPending, waitArrived) {
			w.arrived <- struct{}{}
			continue
		}
		s.reading(ctx)
		return
	}
}

// waitOrHandOver has the waiter wait for the client's next bytes. When
// they arrive within readerLinger, this goroutine reads on (true): a busy
// session keeps its reader and the stack it grew. Otherwise this goroutine
// ends (false) and the waiter, whose small stack is all an idle session
// keeps, becomes the reader when the client speaks again.
func (s *session) waitOrHandOver(ctx context.Context, t *transport) bool {
	if rc := t.rec.r.watchable(); rc != nil {
		s.stopWaiter()
		if ok, served := s.lingerOrPark(ctx, t, rc); served {
			return ok
		}
	}
	w := s.waiter
	if w == nil {
		w = &waiter{req: make(chan *transport), arrived: make(chan struct{}, 1)}
		s.waiter = w
		go s.waitFor(ctx, w)
	}
	w.state.Store(waitPending)
	t.trimRecord()
	w.req <- t
	if s.linger == nil {
		s.linger = time.NewTimer(readerLinger)
	} else {
		s.linger.Reset(readerLinger)
	}
	select {
	case <-w.arrived:
		s.linger.Stop()
		return true
	case <-s.linger.C:
		// Cleared before the hand-over, which orders it before the
		// waiter's use of s: the next reader makes its own.
		timer := s.linger
		s.waiter, s.linger = nil, nil
		t.park() // ordered before the waiter's next use by the swap below
		if w.state.CompareAndSwap(waitPending, waitGaveUp) {
			return false
		}
		s.waiter, s.linger = w, timer
		<-w.arrived
		return true
	}
}

// lingerOrPark is waitOrHandOver without a waiter goroutine: this
// goroutine waits up to readerLinger in the runtime's poller for the
// client (recordConn.linger) and reads on (true) when bytes come;
// otherwise it hands the socket to the server's idle poller
// (recordConn.watch) and ends (false): the session then has no goroutine
// at all until the poller, the read deadline, a kick or the end of the
// session starts a reader again (resume). served is false when the socket
// cannot be waited on so; then nothing happened and the caller waits with
// a goroutine.
func (s *session) lingerOrPark(ctx context.Context, t *transport, rc *recordConn) (ok, served bool) {
	switch rc.linger(readerLinger) {
	case lingerNone:
		return false, false
	case lingerReady:
		t.rec.r.readProbe()
		return true, true
	}
	t.park() // before the watch: resume may run at once
	if rc.watch(func() { go s.resume(ctx, t) }) {
		return false, true
	}
	t.wait() // cannot watch: wait here
	return true, true
}

// resume starts the reader of a session that had none, once its watch
// fired.
func (s *session) resume(ctx context.Context, t *transport) {
	t.rec.r.readProbe()
	s.reading(ctx)
}

// stopWaiter ends the waiter of a session whose reader is done.
func (s *session) stopWaiter() {
	if s.waiter != nil {
		close(s.waiter.req)
		s.waiter = nil
	}
}

// errQuiet ends a read loop whose client has sent nothing more yet.
var errQuiet = errors.New("client quiet")

// startConn starts serving a connection: the unacknowledged stanzas of a
// resumed session are written first, from here, before a writer may run.
func (s *session) startConn(t *transport, preamble []byte, resend []smEntry) {
	s.connMu.Lock()
	s.t = t
	s.kicked.Store(false) // with s.t, so that a kick of the old connection cannot reach this one
	s.connMu.Unlock()
	s.lastRead.Store(time.Now().UnixNano())
	buf := s.srv.getWriteBuf()
	buf.Write(preamble)
	for _, e := range resend {
		s.emit(buf, e.b, e.ev)
	}
	if s.flush(t, buf, nil) {
		s.attach(t)
	}
	s.srv.putWriteBuf(buf)
}

// endConn ends the current connection after its read loop returned err.
// It returns true when the session goes on over a resumed connection
// (XEP-0198), false when the session is over.
func (s *session) endConn(t *transport, err error) bool {
	detach := s.detachable(err)
	if detach {
		s.detach()
	} else {
		s.Close(endReason(err))
	}
	s.writers.Wait()
	_ = t.conn.Close()
	if s.released != nil {
		close(s.released) // the resuming connection's goroutine goes on
		s.released = nil
	}
	if !detach || s.resumptions >= maxResumptions {
		return false
	}
	s.resumptions++
	s.log.Info().AnErr("cause", err).Msg("connection lost; session kept for resumption")
	ho := s.waitResume()
	for ho != nil && s.refuseTooHigh(ho) {
		ho = s.waitResume()
	}
	if ho == nil {
		return false
	}
	s.released = ho.released
	preamble, resend := s.sm.resume(ho.h)
	if ho.wrap != nil {
		preamble = ho.wrap(preamble)
	}
	s.startConn(ho.t, preamble, resend)
	s.log.Info().Msg("session resumed")
	return true
}

// finish unbinds the ended session and hands its leftovers to the hub.
func (s *session) finish(ctx context.Context) {
	defer s.exit()
	defer s.srv.local.remove(s)
	s.Close(errors.New("resumption limit reached"))
	s.srv.forgetResumable(s)
	s.refuseResumptions()
	left := s.leftovers()
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unbindTimeout)
	defer cancel()
	s.srv.hub.Unbind(uctx, s.addr, s, left)
	if err := last.Ended(uctx, s.srv.hub, s, s.srv.now()); err != nil { // XEP-0012 §4, written behind by the hub
		s.log.Warn().Err(err).Msg("last activity not recorded")
	}
	ev := s.log.Info()
	if c := streamCondition(s.reason); c != "" {
		ev = ev.Str("condition", c)
	}
	ev.AnErr("reason", s.reason).Msg("session ended")
}

// unbindTimeout bounds handing a session's leftovers back to the hub, which
// may store them offline; generous, because losing them is worse.
const unbindTimeout = 30 * time.Second

// maxResumptions bounds how often one session may be resumed.
const maxResumptions = 64

// leftovers collects what the client never took: events whose write failed
// or that were never acknowledged, and the mailbox.
func (s *session) leftovers() []crosstalk.Event {
	left := s.sm.unackedEvents()
	if left == nil {
		left = s.failed
	}
	return append(left, s.mbox.Close()...)
}

func (s *session) transport() *transport {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return s.t
}

// kick makes the reader of stale stop, for a resumption that takes the
// session over, if stale is still the session's connection. A detached
// session may take the resuming connection before kick runs: that one must
// not be kicked (it would end right after <resumed/>).
func (s *session) kick(stale *transport) {
	s.connMu.Lock()
	if stale == nil || s.t != stale {
		s.connMu.Unlock()
		return
	}
	s.kicked.Store(true)
	s.connMu.Unlock()
	_ = stale.conn.SetReadDeadline(time.Now())
}

// errKicked reports that another connection took the session over.
var errKicked = errors.New("taken over by a resuming connection")

// endReason maps how the read loop ended to the session's end reason.
func endReason(err error) error {
	switch {
	case errors.Is(err, errStreamClosed):
		return nil
	case isTimeout(err):
		return newStreamError(condConnectionTimeout, "idle")
	}
	return err
}

// detachable reports whether the session outlives its connection: stream
// management with resumption is on, the session was not ended, and the
// connection broke rather than being closed by either side.
func (s *session) detachable(err error) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	if !s.sm.canResume() || errors.Is(err, errStreamClosed) {
		return false
	}
	var se *streamError
	return !errors.As(err, &se)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readLoop reads stanzas until the stream ends or breaks a limit, or until
// nothing more is buffered (errQuiet).
func (s *session) readLoop(ctx context.Context, t *transport) error {
	for {
		if err := t.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.IdleTimeout)); err != nil {
			return err
		}
		if s.kicked.Load() {
			return errKicked
		}
		if !t.buffered() {
			return errQuiet
		}
		el, err := t.next()
		if err != nil {
			if s.kicked.Load() {
				return errKicked
			}
			return err
		}
		s.lastRead.Store(time.Now().UnixNano())
		select {
		case <-s.done:
			return nil
		default:
		}
		if err := s.handle(ctx, el); err != nil {
			return err
		}
		// Its answers go now, not after whatever comes next (the next
		// element may be slow to handle, or not all here yet).
		s.flushReplies()
	}
}

// attach lets writers write to t and starts the keepalive timer: a client
// silent for half the idle timeout is pinged (XEP-0199 §4.3), so that one
// that is only quiet answers before the reader gives up.
func (s *session) attach(t *transport) {
	s.wmu.Lock()
	s.wt = t
	period := s.srv.cfg.IdleTimeout / 4
	s.keepalive = time.AfterFunc(period, func() {
		if time.Since(time.Unix(0, s.lastRead.Load())) >= s.srv.cfg.IdleTimeout/2 {
			s.wmu.Lock()
			s.pingDue = true
			s.wmu.Unlock()
			s.wake()
		}
		s.wmu.Lock()
		if s.wt != nil && s.keepalive != nil {
			s.keepalive.Reset(period)
		}
		s.wmu.Unlock()
	})
	queued := len(s.pending) > 0
	s.wmu.Unlock()
	// What the hub queued before the connection was served (an event put
	// after this look finds the writer's connection set: Deliver wakes
	// it), or an end that came first: a Close between the binding and
	// here (a shutdown, a kick) woke no writer, as there was no
	// connection to write to, and the reader may park waiting for a
	// client that says nothing. A new session has nothing: no writer
	// goroutine for it.
	if queued || s.mbox.Len() > 0 || s.isDone() {
		s.wake()
	}
}

// detach stops writing to the current connection (it broke; the session
// waits for a resumption). A running writer stops after its current write.
func (s *session) detach() {
	s.wmu.Lock()
	s.wt = nil
	if s.keepalive != nil {
		s.keepalive.Stop()
		s.keepalive = nil
	}
	s.wmu.Unlock()
	s.signal() // a lingering writer ends now
}

// signal wakes a lingering writer.
func (s *session) signal() {
	select {
	case s.wakeCh <- struct{}{}:
	default:
	}
}

// writerLinger is how long a writer with nothing to do waits for more
// before it ends: a busy session keeps its writer (and the stack it grew),
// an idle one has none after this.
const writerLinger = 250 * time.Millisecond

// wake makes sure a writer runs when there may be something to write. An
// idle session has no writer goroutine: one is started here and ends when
// it finds nothing more to do.
func (s *session) wake() {
	s.wmu.Lock()
	running := s.wrunning
	start := !running && s.wt != nil
	if start {
		s.wrunning = true
		s.writers.Add(1)
	}
	s.wmu.Unlock()
	if start {
		go s.writeLoop()
	} else if running {
		s.signal()
	}
}

// flushReplies writes the replies the reader queued (queue) while it
// handled an element, on the reader's goroutine, when no writer runs: the
// answer to a request leaves without a writer goroutine started for it and
// handed it over. When a writer runs, it is woken instead.
func (s *session) flushReplies() {
	s.wmu.Lock()
	pending := len(s.pending) > 0
	inline := pending && !s.wrunning && s.wt != nil && !s.isDone()
	if inline {
		s.wrunning = true
		s.writers.Add(1)
	}
	s.wmu.Unlock()
	switch {
	case inline:
		s.write(false)
	case pending:
		s.wake()
	}
}

// writeLoop is the session's writer goroutine (wake starts it).
func (s *session) writeLoop() { s.write(true) }

// write is the only writer of the session while it runs (wake, or
// flushReplies on the reader's goroutine, starts at most one). It writes
// the replies the reader queued and the events of the mailbox until both
// are empty, then, with linger, waits writerLinger for more before it
// ends. Without linger (on the reader's goroutine) it makes one pass and
// hands whatever arrived meanwhile to a writer goroutine. When the
// session is done it writes the final stream error and detaches the
// connection.
func (s *session) write(linger bool) {
	defer s.writers.Done()
	buf := s.srv.getWriteBuf()
	defer s.srv.putWriteBuf(buf)
	var (
		evs      []crosstalk.Event
		timer    *time.Timer
		lingered bool
		passes   int
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.wmu.Lock()
		t, items, ping := s.wt, s.pending, s.pingDue
		done := s.isDone()
		if t == nil || (!done && len(items) == 0 && !ping && s.mbox.Len() == 0) {
			if t == nil || lingered || !linger {
				s.wrunning = false
				// An idle session keeps no reply queue (the next writer's
				// first enqueue makes one).
				if len(s.pending) == 0 {
					s.pending, s.spare = nil, nil
				}
				s.wmu.Unlock()
				return
			}
			s.wmu.Unlock()
			if timer == nil {
				timer = time.NewTimer(writerLinger)
			} else {
				timer.Reset(writerLinger)
			}
			select {
			case <-s.wakeCh:
			case <-timer.C:
				lingered = true
			}
			continue
		}
		if !linger && passes > 0 && !done {
			// On the reader's goroutine (flushReplies), one pass only:
			// what arrived meanwhile goes to a writer goroutine, so a
			// stream of deliveries cannot keep the reader from the client.
			s.writers.Add(1)
			go s.writeLoop() // wrunning stays set: the role passes on
			s.wmu.Unlock()
			return
		}
		passes++
		lingered = false
		s.pending, s.spare = s.spare[:0], items
		s.pingDue = false
		if done {
			s.wt = nil // one final write, and no writer after it
			if s.keepalive != nil {
				s.keepalive.Stop()
				s.keepalive = nil
			}
		}
		s.wmu.Unlock()
		select {
		case s.space <- struct{}{}:
		default:
		}
		if done {
			s.writeFinal(t, items)
			s.wmu.Lock()
			s.wrunning = false
			s.wmu.Unlock()
			return
		}
		buf.Reset()
		// The hub's events first: those a request caused (a roster push)
		// were queued before its answer.
		evs = s.mbox.Take(evs[:0])
		for _, ev := range evs {
			s.render(buf, ev)
		}
		if len(items) > 0 && !s.csi.inactive.Load() && len(s.csi.order) > 0 {
			s.flushHeld(buf)
		}
		for i, it := range items {
			if it.stanza {
				s.emit(buf, it.b, nil)
			} else {
				buf.Write(it.b)
			}
			if it.enableSM {
				s.sm.start()
			}
			items[i] = outItem{}
		}
		if ping {
			s.emit(buf, []byte("<iq type='get' id='keepalive"+strconv.FormatUint(s.srv.pushSeq.Add(1), 10)+
				"' from='"+s.addr.Domain()+"' to='"+xmppmap.Escape(s.addr.String())+"'><ping xmlns='urn:xmpp:ping'/></iq>"), nil)
		}
		if !s.flush(t, buf, evs) {
			s.detach()
		}
		clear(evs)
	}
}

// flush writes what a writer iteration produced, with an ack request when
// stream management is on. It returns false when the writer must stop.
func (s *session) flush(t *transport, buf *bytes.Buffer, taken []crosstalk.Event) bool {
	if buf.Len() == 0 {
		return true
	}
	if s.sm.wantAck() {
		buf.WriteString("<r xmlns='" + nsSM + "'/>")
	}
	if s.sm.overflow(s.srv.cfg.MailboxEvents) {
		s.Close(crosstalk.ErrSlowConsumer)
		return true // the done case writes the end
	}
	if err := t.write(buf.Bytes()); err != nil {
		if s.sm.canResume() {
			_ = t.conn.SetReadDeadline(time.Now()) // the reader detaches the session
			return false
		}
		s.failed = append(s.failed, taken...)
		s.Close(writeError(err))
	}
	return true
}

// writeError turns a failed write into the session's end reason: a write
// that timed out is a slow consumer.
func writeError(err error) error {
	if isTimeout(err) {
		return crosstalk.ErrSlowConsumer
	}
	return err
}

// writeFinal flushes pending replies, sends the stream error the reason
// calls for (or a plain close) and shuts the connection.
func (s *session) writeFinal(t *transport, items []outItem) {
	var buf bytes.Buffer
	for _, it := range items {
		buf.Write(it.b)
	}
	if cond := streamCondition(s.reason); cond != "" {
		buf.Write(streamErrorFor(cond, s.reason))
	} else {
		buf.WriteString("</stream:stream>")
	}
	_ = t.conn.SetWriteDeadline(time.Now().Add(finalWriteTimeout))
	if tc, ok := t.conn.(*tls.Conn); ok && t.rec.r.rc != nil {
		// The end of the stream and TLS's close_notify in one write, not
		// two: the records crypto/tls makes are held under it until both
		// are there. Closing the connection later sends nothing more.
		rc := t.rec.r.rc
		rc.hold()
		_, _ = t.conn.Write(buf.Bytes())
		_ = tc.CloseWrite()
		_ = rc.sendHeld(finalWriteTimeout)
	} else {
		_, _ = t.conn.Write(buf.Bytes())
	}
	_ = t.conn.SetReadDeadline(time.Now())
}

// finalWriteTimeout bounds the write of a session's end.
const finalWriteTimeout = 2 * time.Second
