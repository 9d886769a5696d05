package xmpp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// session is a bound c2s stream: an endpoint of the hub. The connection's
// goroutine is its only reader; one writer goroutine drains the mailbox
// (events from the hub) and the reply queue (answers to the client's own
// requests). A client that does not read is disconnected when a write times
// out or the mailbox overflows; whatever it never took goes back to the hub.
type session struct {
	srv  *Server
	t    *transport
	raw  net.Conn
	addr crosstalk.Address
	log  zerolog.Logger

	mbox       *crosstalk.Mailbox
	out        chan []byte
	done       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	reason     error // set once, before done is closed

	// failed holds events taken from the mailbox whose write failed; only
	// the writer touches it until writerDone is closed.
	failed []crosstalk.Event

	mu    sync.Mutex
	state map[string]any
}

var (
	_ crosstalk.Endpoint = (*session)(nil)
	_ feature.Session    = (*session)(nil)
)

// replyQueue bounds the answers waiting for the writer; the reader blocks
// when it is full, which slows only the client that asks too fast.
const replyQueue = 64

func newSession(n *negotiation) *session {
	return &session{
		srv:        n.srv,
		t:          n.t,
		raw:        n.raw,
		log:        n.log,
		mbox:       crosstalk.NewMailbox(n.srv.cfg.MailboxEvents, n.srv.cfg.MailboxBytes),
		out:        make(chan []byte, replyQueue),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		state:      make(map[string]any),
	}
}

// Protocol returns ProtocolXMPP.
func (s *session) Protocol() crosstalk.Protocol { return crosstalk.ProtocolXMPP }

// Deliver queues an event for the writer; it never blocks.
func (s *session) Deliver(ev crosstalk.Event) error {
	if d, ok := ev.(*crosstalk.Disconnect); ok {
		s.Close(d.Reason)
		return nil
	}
	return s.mbox.Put(ev)
}

// Close ends the session with a reason; the writer sends the matching
// stream error and closes the connection. It never blocks.
func (s *session) Close(reason error) {
	s.closeOnce.Do(func() {
		s.reason = reason
		close(s.done)
	})
}

// Addr returns the session's full address.
func (s *session) Addr() crosstalk.Address { return s.addr }

// Get returns per-session feature state.
func (s *session) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[key]
}

// Set stores per-session feature state.
func (s *session) Set(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state[key] = v
}

// Send queues a stanza for the client from the session's own reader (a
// handler), waiting while the reply queue is full.
func (s *session) Send(stanza []byte) error {
	select {
	case <-s.done:
		return crosstalk.ErrEndpointClosed
	case s.out <- stanza:
		return nil
	}
}

// trySend queues a stanza from another goroutine without blocking.
func (s *session) trySend(stanza []byte) error {
	select {
	case <-s.done:
		return crosstalk.ErrEndpointClosed
	case s.out <- stanza:
		return nil
	default:
		return crosstalk.ErrSlowConsumer
	}
}

// reply queues an answer from the reader, waiting while the queue is full.
func (s *session) reply(b []byte) {
	select {
	case s.out <- b:
	case <-s.done:
	}
}

// run serves the bound session until either side ends it, then unbinds it
// and hands back what it never delivered.
func (s *session) run(ctx context.Context) {
	s.srv.local.add(s)
	defer s.srv.local.remove(s)
	go s.writeLoop()
	err := s.readLoop(ctx)
	switch {
	case errors.Is(err, errStreamClosed):
		s.Close(nil)
	case isTimeout(err):
		s.Close(newStreamError(condConnectionTimeout, "idle"))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		s.Close(err)
	default:
		s.Close(err)
	}
	<-s.writerDone
	_ = s.t.conn.Close()
	left := append(s.failed, s.mbox.Close()...)
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s.srv.hub.Unbind(uctx, s.addr, s, left)
	ev := s.log.Info()
	if c := streamCondition(s.reason); c != "" {
		ev = ev.Str("condition", c)
	}
	ev.AnErr("reason", s.reason).Msg("session ended")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readLoop reads stanzas until the stream ends or breaks a limit.
func (s *session) readLoop(ctx context.Context) error {
	for {
		if err := s.t.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.IdleTimeout)); err != nil {
			return err
		}
		el, err := s.t.next()
		if err != nil {
			return err
		}
		select {
		case <-s.done:
			return nil
		default:
		}
		if err := s.handle(ctx, el); err != nil {
			return err
		}
	}
}

// writeLoop is the session's only writer.
func (s *session) writeLoop() {
	defer close(s.writerDone)
	var (
		evs []crosstalk.Event
		buf bytes.Buffer
	)
	for {
		select {
		case <-s.done:
			s.writeFinal()
			return
		case b := <-s.out:
			if err := s.t.write(b); err != nil {
				s.Close(writeError(err))
			}
		case <-s.mbox.Ready():
			evs = s.mbox.Take(evs[:0])
			buf.Reset()
			for _, ev := range evs {
				s.render(&buf, ev)
			}
			if buf.Len() == 0 {
				continue
			}
			if err := s.t.write(buf.Bytes()); err != nil {
				s.failed = append(s.failed, evs...)
				s.Close(writeError(err))
			}
		}
	}
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
func (s *session) writeFinal() {
	var buf bytes.Buffer
drain:
	for range replyQueue {
		select {
		case b := <-s.out:
			buf.Write(b)
		default:
			break drain
		}
	}
	if cond := streamCondition(s.reason); cond != "" {
		buf.Write(streamErrorXML(cond))
	} else {
		buf.WriteString("</stream:stream>")
	}
	_ = s.t.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, _ = s.t.conn.Write(buf.Bytes())
	_ = s.t.conn.SetReadDeadline(time.Now())
}

// registry keeps the server's live sessions, by bare address.
type registry struct {
	mu     sync.Mutex
	byBare map[crosstalk.Address]map[*session]bool
}

func newRegistry() *registry {
	return &registry{byBare: make(map[crosstalk.Address]map[*session]bool)}
}

func (r *registry) add(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.byBare[s.addr.Bare()]
	if set == nil {
		set = make(map[*session]bool)
		r.byBare[s.addr.Bare()] = set
	}
	set[s] = true
}

func (r *registry) remove(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if set := r.byBare[s.addr.Bare()]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(r.byBare, s.addr.Bare())
		}
	}
}

// of returns the live sessions of a bare address.
func (r *registry) of(bare crosstalk.Address) []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*session, 0, len(r.byBare[bare]))
	for s := range r.byBare[bare] {
		out = append(out, s)
	}
	return out
}

func (r *registry) all() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*session
	for _, set := range r.byBare {
		for s := range set {
			out = append(out, s)
		}
	}
	return out
}

// owns reports whether a raw connection belongs to a bound session.
func (r *registry) owns(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, set := range r.byBare {
		for s := range set {
			if s.raw == c {
				return true
			}
		}
	}
	return false
}
