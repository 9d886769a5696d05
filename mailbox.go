package crosstalk

import "sync"

// Mailbox is a bounded event queue, by count and by bytes, for an endpoint's
// single writer to drain. Put never blocks: a full mailbox refuses with
// ErrSlowConsumer, so a slow consumer is disconnected rather than waited for.
// It is safe for concurrent use.
type Mailbox struct {
	ready    chan struct{}
	mu       sync.Mutex
	items    []Event
	bytes    int
	maxCount int
	maxBytes int
	closed   bool
}

// NewMailbox returns a mailbox holding at most maxCount events and maxBytes
// bytes (by Event.Size); a limit ≤ 0 means the default (1024 events, 4 MiB).
func NewMailbox(maxCount, maxBytes int) *Mailbox {
	if maxCount <= 0 {
		maxCount = 1024
	}
	if maxBytes <= 0 {
		maxBytes = 4 << 20
	}
	return &Mailbox{ready: make(chan struct{}, 1), maxCount: maxCount, maxBytes: maxBytes}
}

// Put queues ev. It returns ErrSlowConsumer when the mailbox is full and
// ErrEndpointClosed after Close; ev is not queued in either case.
func (m *Mailbox) Put(ev Event) error {
	size := ev.Size()
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrEndpointClosed
	case len(m.items) >= m.maxCount || m.bytes+size > m.maxBytes:
		m.mu.Unlock()
		return ErrSlowConsumer
	}
	m.items = append(m.items, ev)
	m.bytes += size
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
	return nil
}

// Ready is signalled when events may be waiting; call Take after it fires.
func (m *Mailbox) Ready() <-chan struct{} { return m.ready }

// Take appends every queued event to buf, empties the mailbox and returns
// buf. It never blocks.
func (m *Mailbox) Take(buf []Event) []Event {
	m.mu.Lock()
	buf = append(buf, m.items...)
	clear(m.items)
	m.items = m.items[:0]
	m.bytes = 0
	m.mu.Unlock()
	return buf
}

// Len returns the number of queued events.
func (m *Mailbox) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// Close refuses further events and returns those still queued, so that the
// owner can hand them back to the hub to be re-routed or stored.
func (m *Mailbox) Close() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	left := m.items
	m.items = nil
	m.bytes = 0
	return left
}
