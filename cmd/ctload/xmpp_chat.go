package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errNotDelivered counts a message that did not arrive within the timeout.
var errNotDelivered = errors.New("not delivered within the operation timeout")

// pending tracks messages sent and not yet received, by stanza id.
type pending struct {
	mu  sync.Mutex
	rec *recorder
	m   map[string]sentMsg
}

type sentMsg struct {
	at     time.Time
	window chan struct{}
}

func newPending() *pending { return &pending{m: make(map[string]sentMsg)} }

// start sets the recorder that arrivals are recorded in.
func (p *pending) start(rec *recorder) {
	p.mu.Lock()
	p.rec = rec
	p.mu.Unlock()
}

// add records a message about to be sent.
func (p *pending) add(id string, at time.Time, window chan struct{}) {
	p.mu.Lock()
	p.m[id] = sentMsg{at: at, window: window}
	p.mu.Unlock()
}

// take removes a message, reporting whether it was pending.
func (p *pending) take(id string) (sentMsg, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.m[id]
	if ok {
		delete(p.m, id)
	}
	return s, ok
}

// arrived is the sessions' inbound callback: it matches the stanza id and
// records the latency (or the failure, for an error bounce).
func (p *pending) arrived(id, typ string, at time.Time) {
	s, ok := p.take(id)
	if !ok {
		return
	}
	p.mu.Lock()
	rec := p.rec
	p.mu.Unlock()
	if typ == "error" {
		rec.failure(errors.New("message bounced with an error stanza"))
	} else {
		rec.success(at.Sub(s.at))
	}
	<-s.window
}

// arrivedRaw is arrived for a rawConn's scanner: it matches the id
// without allocating unless it is pending.
func (p *pending) arrivedRaw(id, typ []byte) {
	at := time.Now()
	p.mu.Lock()
	s, ok := p.m[string(id)]
	if ok {
		delete(p.m, string(id))
	}
	rec := p.rec
	p.mu.Unlock()
	if !ok {
		return
	}
	if string(typ) == "error" {
		rec.failure(errors.New("message bounced with an error stanza"))
	} else {
		rec.success(at.Sub(s.at))
	}
	<-s.window
}

// fail records a receiving session's stream error as a failure of the
// running phase (during login, the login itself fails).
func (p *pending) fail(err error) {
	p.mu.Lock()
	rec := p.rec
	p.mu.Unlock()
	if rec != nil {
		rec.failure(fmt.Errorf("receiving session: %w", err))
	}
}

// len returns how many messages are pending.
func (p *pending) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}

// drain waits up to d for pending messages to arrive and returns how many
// never did, forgetting them.
func (p *pending) drain(ctx context.Context, d time.Duration) int {
	deadline := time.Now().Add(d)
	for p.len() > 0 && time.Now().Before(deadline) && sleepUntil(ctx, time.Now().Add(10*time.Millisecond)) {
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.m)
	clear(p.m)
	return n
}

// chatWindow is how many messages one pair may have in flight.
const chatWindow = 16

// chatBatch bounds how many due messages a pair's sender takes at once.
const chatBatch = 8

// runChat is xmpp-chat: -c pairs of sessions (accounts 2k and 2k+1) log
// in, then send -n messages in all, each pair alternating direction, with
// at most chatWindow in flight per pair. Latency is from just before the
// send to the receiving session reading the stanza, matched by id.
func (x *xmppClient) runChat(ctx context.Context, m meter, res *Result) error {
	pairs := x.cfg.Concurrent
	deadline := time.Now().Add(x.cfg.Duration)
	pend := newPending()
	sessions := make([]*xmppSession, 2*pairs)
	defer closeAll(sessions)

	logins := loop{n: 2 * pairs, workers: min(2*pairs, 32), deadline: deadline}
	p, err := m.phase("login", func(rec *recorder) int64 {
		return logins.run(ctx, func(ctx context.Context, _, i int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			start := time.Now()
			s, err := x.login(octx, i, true, handlers{direct: pend.arrivedRaw, directFail: pend.fail})
			if err != nil {
				rec.failure(err)
				return
			}
			rec.success(time.Since(start))
			sessions[i] = s
		})
	})
	res.Phases = append(res.Phases, p)
	if err != nil || p.Failed > 0 || p.OK < int64(2*pairs) {
		return err
	}

	// After login, messages bypass mellium: each is written as prepared
	// bytes on the TLS connection (under the session's write lock) and
	// found on arrival by the rawConn's scanner.
	body := strings.Repeat("x", x.cfg.BodySize)
	out := make([]chatSender, 2*pairs)
	for i, s := range sessions {
		out[i] = newChatSender(s, sessions[i^1].jid.Bare().String(), body)
		s.raw.takeOver()
	}
	windows := make([]chan struct{}, pairs)
	for i := range windows {
		windows[i] = make(chan struct{}, chatWindow)
	}
	msgs := loop{n: x.cfg.Count, workers: pairs, rate: x.cfg.Rate, deadline: deadline}
	p, err = m.phase("message", func(rec *recorder) int64 {
		pend.start(rec)
		n := msgs.runBatch(ctx, chatBatch, func(ctx context.Context, w int, is []int) {
			// Messages due together leave in one write per direction;
			// each is timestamped just before its write.
			ids := make([][]string, 2)
			for _, i := range is {
				if !acquire(ctx, windows[w], x.cfg.Timeout) {
					rec.failure(errNotDelivered)
					continue
				}
				ids[i%2] = append(ids[i%2], out[2*w+i%2].add(i))
			}
			for d, dir := range ids {
				if len(dir) == 0 {
					continue
				}
				from := &out[2*w+d]
				at := time.Now()
				for _, id := range dir {
					pend.add(id, at, windows[w])
				}
				if err := from.send(); err != nil {
					for _, id := range dir {
						if _, ok := pend.take(id); ok {
							<-windows[w]
						}
						rec.failure(err)
					}
				}
			}
		})
		for range pend.drain(ctx, x.cfg.Timeout) {
			rec.failure(errNotDelivered)
		}
		return n
	})
	res.Phases = append(res.Phases, p)
	res.Notes = append(res.Notes, "message latency: send to arrival at the other session of the pair, matched by stanza id; "+strconv.Itoa(chatWindow)+" messages in flight per pair at most")
	return err
}

// acquire takes a slot of window, waiting up to timeout (or the end of
// ctx) when it is full; it reports whether it got one.
func acquire(ctx context.Context, window chan struct{}, timeout time.Duration) bool {
	select {
	case window <- struct{}{}:
		return true
	default:
	}
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case window <- struct{}{}:
		return true
	case <-tm.C:
	case <-ctx.Done():
	}
	return false
}

// chatSender writes one session's chat messages as prepared bytes.
type chatSender struct {
	s *xmppSession
	// head ends just before the id's digits, tail follows them.
	head, tail []byte
	buf        []byte
}

// chatIDPrefix starts every message id.
const chatIDPrefix = "ct"

func newChatSender(s *xmppSession, to, body string) chatSender {
	var h, t strings.Builder
	h.WriteString("<message type='chat' to='")
	_ = xml.EscapeText(&h, []byte(to))
	h.WriteString("' id='" + chatIDPrefix)
	t.WriteString("'><body>")
	_ = xml.EscapeText(&t, []byte(body))
	t.WriteString("</body></message>")
	return chatSender{s: s, head: []byte(h.String()), tail: []byte(t.String())}
}

// add appends message i to the buffer and returns its id.
func (c *chatSender) add(i int) string {
	c.buf = append(c.buf, c.head...)
	n := len(c.buf) - len(chatIDPrefix)
	c.buf = strconv.AppendInt(c.buf, int64(i), 10)
	id := string(c.buf[n:])
	c.buf = append(c.buf, c.tail...)
	return id
}

// send writes the added messages while holding the session's write lock
// (so it never interleaves with what mellium writes, such as an IQ reply).
func (c *chatSender) send() error {
	w := c.s.s.TokenWriter()
	_, err := c.s.raw.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if cerr := w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	return nil
}

// closeAll closes every session, a few at a time.
func closeAll(sessions []*xmppSession) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, s := range sessions {
		if s == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.close()
		})
	}
	wg.Wait()
}
