package xmpp

import (
	"net"
	"sync"
	"sync/atomic"

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
	raw  net.Conn
	addr crosstalk.Address
	log  zerolog.Logger

	// connMu guards t, the current transport, which changes when a
	// detached session is resumed (XEP-0198); kicked asks the reader of the
	// current transport to stop.
	connMu sync.Mutex
	t      *transport
	ended  bool // no more resumptions; guarded by connMu
	kicked atomic.Bool
	// lastRead is when the reader last took an element (UnixNano).
	lastRead atomic.Int64

	mbox      *crosstalk.Mailbox
	out       chan outItem
	done      chan struct{}
	closeOnce sync.Once
	reason    error // set once, before done is closed
	resumeCh  chan *handover

	// failed holds events taken from the mailbox whose write failed; only
	// the writer touches it while it runs.
	failed []crosstalk.Event

	mu    sync.Mutex
	state map[string]any

	csi csiState
	sm  smState
}

// outItem is one write request for the writer: a stanza (counted by stream
// management) or a nonza, or a state change the writer must apply in order.
type outItem struct {
	b      []byte
	stanza bool
	// enableSM makes the writer start counting after writing b (<enabled/>).
	enableSM bool
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
		srv:      n.srv,
		t:        n.t,
		raw:      n.raw,
		log:      n.log,
		mbox:     crosstalk.NewMailbox(n.srv.cfg.MailboxEvents, n.srv.cfg.MailboxBytes),
		out:      make(chan outItem, replyQueue),
		done:     make(chan struct{}),
		resumeCh: make(chan *handover, 1),
		state:    make(map[string]any),
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
	case s.out <- outItem{b: stanza, stanza: true}:
		return nil
	}
}

// trySend queues a stanza from another goroutine without blocking.
func (s *session) trySend(stanza []byte) error {
	select {
	case <-s.done:
		return crosstalk.ErrEndpointClosed
	case s.out <- outItem{b: stanza, stanza: true}:
		return nil
	default:
		return crosstalk.ErrSlowConsumer
	}
}

// reply queues an answer stanza from the reader, waiting while the queue
// is full.
func (s *session) reply(b []byte) { s.queue(outItem{b: b, stanza: true}) }

// queue queues a write request from the reader.
func (s *session) queue(it outItem) {
	select {
	case s.out <- it:
	case <-s.done:
	}
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
