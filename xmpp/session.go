package xmpp

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// session is a bound c2s stream: an endpoint of the hub. The connection's
// goroutine is its only reader; one writer goroutine drains the mailbox
// (events from the hub) and the reply queue (answers to the client's own
// requests). The writer runs only while there is something to write (wake
// starts it; it ends when both queues have stayed empty for writerLinger),
// so an idle session costs one parked goroutine, not two. A client that does not read is
// disconnected when a write times out or the mailbox overflows; whatever it
// never took goes back to the hub.
//
// Lock order: connMu, then wmu, then the mailbox's and sm.mu.
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

	mbox *crosstalk.Mailbox
	// wmu guards the writer's state: wt, the connection writers may write
	// to (nil before the first, while detached and after the final write);
	// wrunning, whether a writer goroutine runs; pending, the reader's
	// replies and nonzas in order (at most replyQueue); spare, the slice
	// the writer gives back for reuse; pingDue, a keepalive ping to send.
	wmu       sync.Mutex
	wt        *transport
	wrunning  bool
	pending   []outItem
	spare     []outItem
	pingDue   bool
	keepalive *time.Timer
	// wakeCh wakes a writer that lingers with nothing to do.
	wakeCh chan struct{}
	// space is signalled when the writer takes the pending replies; a
	// reader waiting for room in a full queue waits on it.
	space chan struct{}
	// writers counts the running writer (0 or 1), for serveConn to wait
	// for it before closing the connection.
	writers sync.WaitGroup

	done      chan struct{}
	closeOnce sync.Once
	reason    error // set once, before done is closed
	resumeCh  chan *handover

	// exit is called once when the session is over and its connection
	// closed (Server.handle's clean-up).
	exit func()
	// released belongs to the connection a resumption handed over: closed
	// when the session no longer uses it. resumptions counts them. Both
	// belong to the reader.
	released    chan struct{}
	resumptions int
	// linger times the reader's wait for a quiet client; waiter waits for
	// it (both reader only, see waitOrHandOver).
	linger *time.Timer
	waiter *waiter

	// failed holds events taken from the mailbox whose write failed; only
	// the writer touches it while it runs.
	failed []crosstalk.Event

	mu    sync.Mutex
	state []stateItem

	csi csiState
	sm  smState

	// userAgent is the XEP-0388 user-agent id the session logged in with
	// ("" for none); set before the session runs, read-only after.
	userAgent string
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
		space:    make(chan struct{}, 1),
		wakeCh:   make(chan struct{}, 1),
		done:     make(chan struct{}),
		resumeCh: make(chan *handover, 1),
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
	if err := s.mbox.Put(ev); err != nil {
		return err
	}
	s.wake()
	return nil
}

// Close ends the session with a reason; the writer sends the matching
// stream error and closes the connection. It never blocks.
func (s *session) Close(reason error) {
	s.closeOnce.Do(func() {
		s.reason = reason
		close(s.done)
	})
	s.wake() // the writer sends the end
}

// isDone reports whether the session was closed.
func (s *session) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Addr returns the session's full address.
func (s *session) Addr() crosstalk.Address { return s.addr }

// stateItem is one key of per-session feature state. A session keeps a
// few (one for a roster request): a slice is a tenth of a map's size.
type stateItem struct {
	key string
	v   any
}

// Get returns per-session feature state.
func (s *session) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.state {
		if it.key == key {
			return it.v
		}
	}
	return nil
}

// Set stores per-session feature state.
func (s *session) Set(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.state {
		if s.state[i].key == key {
			s.state[i].v = v
			return
		}
	}
	s.state = append(s.state, stateItem{key, v})
}

// Send queues a stanza for the client from the session's own reader (a
// handler), waiting while the reply queue is full.
func (s *session) Send(stanza []byte) error {
	return s.enqueue(outItem{b: stanza, stanza: true}, true, false)
}

// trySend queues a stanza from another goroutine without blocking.
func (s *session) trySend(stanza []byte) error {
	return s.enqueue(outItem{b: stanza, stanza: true}, false, false)
}

// reply queues an answer stanza from the reader, waiting while the queue
// is full.
func (s *session) reply(b []byte) { s.queue(outItem{b: b, stanza: true}) }

// queue queues a write request from the reader. Unless a writer runs (it
// is woken) or the queue is half full (one is started), the request waits
// for the reader to write it itself once it has handled the element that
// caused it (flushReplies): a request's answer then needs no writer
// goroutine.
func (s *session) queue(it outItem) { _ = s.enqueue(it, true, true) }

// enqueue adds a write request to the reply queue and wakes the writer,
// or leaves it to the reader's flushReplies (later: the reader only).
// With wait it waits while the queue is full (the reader only: it slows
// the client that asks too fast); without, a full queue is
// ErrSlowConsumer.
func (s *session) enqueue(it outItem, wait, later bool) error {
	for {
		s.wmu.Lock()
		if s.isDone() {
			s.wmu.Unlock()
			return crosstalk.ErrEndpointClosed
		}
		if len(s.pending) < replyQueue {
			s.pending = append(s.pending, it)
			later = later && !s.wrunning && len(s.pending) < replyQueue/2
			s.wmu.Unlock()
			if !later {
				s.wake()
			}
			return nil
		}
		s.wmu.Unlock()
		if !wait {
			return crosstalk.ErrSlowConsumer
		}
		s.wake() // replies left for flushReplies may fill the queue
		select {
		case <-s.done:
			return crosstalk.ErrEndpointClosed
		case <-s.space:
		}
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

// maxPooledWriteBuf bounds the write buffers kept for reuse; a larger one
// (a big roster, a MAM page) is left to the garbage collector.
const maxPooledWriteBuf = 64 << 10

// getWriteBuf returns an empty buffer for one writer run.
func (srv *Server) getWriteBuf() *bytes.Buffer {
	if b, ok := srv.writeBufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// putWriteBuf gives a writer's buffer back for reuse.
func (srv *Server) putWriteBuf(b *bytes.Buffer) {
	if b.Cap() > maxPooledWriteBuf {
		return
	}
	b.Reset()
	srv.writeBufs.Put(b)
}
