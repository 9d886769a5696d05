package xmpp

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// tlsRecordHeader is the length of a TLS record header (RFC 8446 §5.1):
// type, legacy version, and a 16-bit length of the fragment.
const tlsRecordHeader = 5

// recordConn sits between a TCP connection and crypto/tls's server. It
// reads ahead from the socket into a buffer of its own (taken from the
// server's pool while bytes are waiting, given back as soon as they are
// handed over) but hands crypto/tls the bytes of one TLS record at a time,
// never a byte past a record's end. crypto/tls reads records whole before
// it returns from a Read, so once a Read has returned and the buffer here
// is empty, nothing of the client's is left inside crypto/tls (beyond
// plaintext the caller did not take, which the caller knows: its buffer
// came back full). Then an idle connection can wait for the socket to
// become readable (waitReadable) on a goroutine whose stack stays small,
// rather than inside crypto/tls's Read, whose call chain needs a 4 KiB
// stack per parked connection (docs/design/003-xmpp-c2s.md, "What an idle
// session costs").
//
// Only one goroutine reads at a time (the session's reader or its waiter);
// writes go straight to the embedded connection.
type recordConn struct {
	net.Conn
	pool *sync.Pool
	buf  []byte // read ahead; nil when empty
	r, w int
	err  error // the socket's error, returned once buf is read out
	// hdr collects the header of the record being handed over, hn its
	// bytes so far; body counts the bytes of its fragment not yet handed.
	hdr  [tlsRecordHeader]byte
	hn   int
	body int

	// poller watches the socket while the session has no reader (nil:
	// not available here). pmu guards the watch: its id and the function
	// to call, the read deadline as last set and its timer.
	poller  *idlePoller
	raw     syscall.RawConn
	pmu     sync.Mutex
	watchID uint64
	onReady func()
	rdl     time.Time
	dlTimer *time.Timer
	// dlSet counts the deadlines set through SetReadDeadline and
	// SetDeadline, so that linger knows whether to put its own back.
	dlSet uint64

	// held collects what crypto/tls writes while holding is set (hold,
	// sendHeld), so that several records leave in one write; hmu guards
	// both (crypto/tls may write from a reader, a KeyUpdate answer).
	hmu     sync.Mutex
	holding bool
	held    []byte

	// beforeRead, when set, is called before every read of the socket
	// (transport.holdWrites: what the server holds goes out before it
	// waits for the client); its error fails the read. Set and called
	// by the one goroutine that negotiates.
	beforeRead func() error
}

// newRecordConn wraps c; pool holds the read-ahead buffers; poller, when
// not nil, watches the socket of a session that has no reader.
func newRecordConn(c net.Conn, pool *sync.Pool, poller *idlePoller) *recordConn {
	return &recordConn{Conn: c, pool: pool, poller: poller}
}

// watch arranges for fn to be called once, on another goroutine, when the
// socket has bytes, ends or fails, when the read deadline passes, when a
// deadline is set or when the connection is closed, so that no goroutine
// needs to wait for a quiet client. It returns false, and fn is never
// called, when that cannot be done: no poller, bytes read ahead or inside
// crypto/tls (see drained), or no access to the socket. The caller makes
// sure nothing is left in crypto/tls's plaintext buffer.
func (c *recordConn) watch(fn func()) bool {
	if c.poller == nil || !c.drained() {
		return false
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.rawLocked() == nil {
		return false
	}
	var id uint64
	var err error
	if cerr := c.raw.Control(func(fd uintptr) { id, err = c.poller.add(int(fd), c) }); cerr != nil || err != nil {
		return false
	}
	c.watchID, c.onReady = id, fn
	if !c.rdl.IsZero() {
		if d := time.Until(c.rdl); c.dlTimer == nil {
			c.dlTimer = time.AfterFunc(d, c.deadlinePassed)
		} else {
			c.dlTimer.Reset(d)
		}
	}
	return true
}

// rawLocked returns the socket's syscall.RawConn, nil when there is
// none; pmu is held.
func (c *recordConn) rawLocked() syscall.RawConn {
	if c.raw == nil {
		if sc, ok := c.Conn.(syscall.Conn); ok {
			c.raw, _ = sc.SyscallConn()
		}
	}
	return c.raw
}

// fire ends the watch, if there is one, and calls its function.
func (c *recordConn) fire() { c.fireWatch(0) }

// fireWatch ends the watch and calls its function, if the watch is the
// one with that id (any with 0): an event the poller took for an earlier
// watch must not wake a later one.
func (c *recordConn) fireWatch(id uint64) {
	c.pmu.Lock()
	fn, wid := c.onReady, c.watchID
	if fn == nil || (id != 0 && id != wid) {
		c.pmu.Unlock()
		return
	}
	c.onReady, c.watchID = nil, 0
	if c.dlTimer != nil {
		c.dlTimer.Stop()
	}
	c.pmu.Unlock()
	if err := c.raw.Control(func(fd uintptr) { c.poller.remove(int(fd), wid) }); err != nil {
		c.poller.remove(-1, wid) // closed: the kernel dropped it from the epoll set
	}
	fn()
}

// deadlinePassed wakes a watched session once its read deadline has
// passed (the reader then finds the timeout), unless the deadline moved
// meanwhile.
func (c *recordConn) deadlinePassed() {
	c.pmu.Lock()
	due := !c.rdl.IsZero() && !time.Now().Before(c.rdl)
	c.pmu.Unlock()
	if due {
		c.fire()
	}
}

// SetReadDeadline sets the socket's read deadline and wakes a watched
// session, whose reader then finds the deadline (a kick, the end of the
// session) or reads on.
func (c *recordConn) SetReadDeadline(t time.Time) error {
	return c.setReadDeadline(c.Conn.SetReadDeadline, t)
}

// SetDeadline sets both deadlines, waking a watched session as
// SetReadDeadline does.
func (c *recordConn) SetDeadline(t time.Time) error {
	return c.setReadDeadline(c.Conn.SetDeadline, t)
}

// setReadDeadline applies set(t), which moves the read deadline to t,
// records it for the watch, and wakes a watched session.
func (c *recordConn) setReadDeadline(set func(time.Time) error, t time.Time) error {
	c.pmu.Lock()
	err := set(t)
	c.rdl = t
	c.dlSet++
	c.pmu.Unlock()
	c.fire()
	return err
}

// Results of linger.
const (
	lingerReady = iota // read now: bytes, the end, an error or a deadline
	lingerQuiet        // nothing came for the whole wait
	lingerNone         // the socket cannot be waited on
)

// linger waits up to d for the socket to become readable, on the caller's
// goroutine in the runtime's poller, with nothing read: a busy session's
// next stanza usually comes within it, at the cost of a parked goroutine
// only meanwhile. It returns lingerReady when the socket has bytes, has
// ended or failed, when the read deadline passed, or when a deadline was
// set meanwhile (a kick, the end of the session): the caller reads;
// lingerQuiet when d passed, and then the caller may watch (and end);
// lingerNone when there is no socket to wait on. The wait uses the read
// deadline, which is put back afterwards unless someone set another.
func (c *recordConn) linger(d time.Duration) int {
	c.pmu.Lock()
	raw := c.rawLocked()
	if raw == nil {
		c.pmu.Unlock()
		return lingerNone
	}
	until := time.Now().Add(d)
	short := c.rdl.IsZero() || until.Before(c.rdl)
	if short {
		if err := c.Conn.SetReadDeadline(until); err != nil {
			c.pmu.Unlock()
			return lingerReady // the read reports it
		}
	}
	set := c.dlSet
	c.pmu.Unlock()
	ready := false
	err := raw.Read(func(fd uintptr) bool {
		ready = c.readAhead(fd)
		return ready
	})
	c.pmu.Lock()
	changed := c.dlSet != set
	if short && !changed {
		_ = c.Conn.SetReadDeadline(c.rdl)
	}
	c.pmu.Unlock()
	if ready || err == nil || changed || !short || !isTimeout(err) {
		return lingerReady
	}
	return lingerQuiet
}

// Write writes to the socket, or keeps the bytes for sendHeld while hold
// is in effect.
func (c *recordConn) Write(p []byte) (int, error) {
	c.hmu.Lock()
	if c.holding {
		c.held = append(c.held, p...)
		c.hmu.Unlock()
		return len(p), nil
	}
	c.hmu.Unlock()
	return c.Conn.Write(p)
}

// hold keeps what crypto/tls writes from now on until sendHeld.
func (c *recordConn) hold() {
	c.hmu.Lock()
	c.holding = true
	c.hmu.Unlock()
}

// sendHeld writes what was kept since hold in one write, within timeout
// (crypto/tls moves the write deadline to now when it sends close_notify),
// and ends the hold.
func (c *recordConn) sendHeld(timeout time.Duration) error {
	c.hmu.Lock()
	b := c.held
	c.holding, c.held = false, nil
	c.hmu.Unlock()
	if len(b) == 0 {
		return nil
	}
	if err := c.Conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := c.Conn.Write(b)
	return err
}

// Close wakes a watched session (its reader then finds the connection
// closed) and closes the connection.
func (c *recordConn) Close() error {
	c.fire()
	return c.Conn.Close()
}

// Read hands over bytes of the current TLS record, at most up to its end.
func (c *recordConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.buf == nil {
		if c.err != nil {
			err := c.err
			c.err = nil
			return 0, err
		}
		if c.beforeRead != nil {
			if err := c.beforeRead(); err != nil {
				return 0, err
			}
		}
		if c.hn == tlsRecordHeader && c.body > 0 {
			// Inside a fragment and nothing read ahead: read into the
			// caller's buffer, no further than the fragment's end.
			n, err := c.Conn.Read(p[:min(len(p), c.body)])
			c.body -= n
			if c.body == 0 {
				c.hn = 0
			}
			return n, err
		}
		c.fill()
		if c.buf == nil {
			err := c.err
			c.err = nil
			return 0, err
		}
	}
	n := 0
	for n < len(p) && c.r < c.w {
		if c.hn < tlsRecordHeader {
			k := min(tlsRecordHeader-c.hn, c.w-c.r, len(p)-n)
			copy(c.hdr[c.hn:], c.buf[c.r:c.r+k])
			copy(p[n:], c.buf[c.r:c.r+k])
			c.hn += k
			c.r += k
			n += k
			if c.hn == tlsRecordHeader {
				c.body = int(c.hdr[3])<<8 | int(c.hdr[4])
				if c.body == 0 {
					c.hn = 0
					break
				}
			}
			continue
		}
		k := min(c.body, c.w-c.r, len(p)-n)
		copy(p[n:], c.buf[c.r:c.r+k])
		c.body -= k
		c.r += k
		n += k
		if c.body == 0 {
			c.hn = 0
			break // the record ends here: not a byte of the next one
		}
	}
	if c.r == c.w {
		c.release()
	}
	return n, nil
}

// fill reads ahead from the socket into a pooled buffer; it leaves buf nil
// (and err set) when nothing came.
func (c *recordConn) fill() {
	c.buf = *c.getBuf()
	n, err := c.Conn.Read(c.buf)
	c.r, c.w, c.err = 0, n, err
	if n == 0 {
		c.release()
	}
}

// getBuf takes a read-ahead buffer from the pool.
func (c *recordConn) getBuf() *[]byte {
	if b, ok := c.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, readBufSize)
	return &b
}

// readAhead is how a drained connection waits for its socket (linger,
// waitReadable, as the function of a syscall.RawConn's Read): it reads
// what the socket fd holds, without waiting, into a read-ahead buffer
// that Read then hands over, and reports false while the socket has
// nothing. A wait that finds bytes so costs one system call, not a check
// (a peek) and then the read. The end of the stream or an error is kept
// for Read, as a read of the connection would give it.
func (c *recordConn) readAhead(fd uintptr) bool {
	bp := c.getBuf()
	n, ready, err := readNow(fd, *bp)
	switch {
	case !ready:
		c.pool.Put(bp)
		return false
	case n > 0:
		c.buf, c.r, c.w = *bp, 0, n
		return true
	}
	c.pool.Put(bp)
	if err == nil {
		c.err = io.EOF
	} else {
		c.err = &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", err)}
	}
	return true
}

func (c *recordConn) release() {
	b := c.buf
	c.buf, c.r, c.w = nil, 0, 0
	c.pool.Put(&b)
}

// drained reports whether everything read from the socket has been handed
// to crypto/tls as whole records: nothing is read ahead, no record is half
// handed over, no error is pending.
func (c *recordConn) drained() bool {
	return c.buf == nil && c.hn == 0 && c.err == nil
}

// waitReadable blocks until the socket has bytes (or an error, or the read
// deadline passes) when drained, and reads them ahead (readAhead); it
// returns false without waiting when the connection cannot be waited on
// so (read-ahead pending, or no access to the socket), and the caller
// reads instead.
func (c *recordConn) waitReadable() bool {
	if !c.drained() {
		return false
	}
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	return waitReadable(raw, c.readAhead)
}
