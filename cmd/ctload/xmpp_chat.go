package main

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"
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
			s, err := x.login(octx, i, true, handlers{message: pend.arrived})
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

	body := strings.Repeat("x", x.cfg.BodySize)
	windows := make([]chan struct{}, pairs)
	for i := range windows {
		windows[i] = make(chan struct{}, chatWindow)
	}
	msgs := loop{n: x.cfg.Count, workers: pairs, rate: x.cfg.Rate, deadline: deadline}
	p, err = m.phase("message", func(rec *recorder) int64 {
		pend.start(rec)
		n := msgs.run(ctx, func(ctx context.Context, w, i int) {
			from, to := sessions[2*w], sessions[2*w+1]
			if i%2 == 1 {
				from, to = to, from
			}
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			select {
			case windows[w] <- struct{}{}:
			case <-octx.Done():
				rec.failure(errNotDelivered)
				return
			}
			id := "ct" + strconv.Itoa(i)
			pend.add(id, time.Now(), windows[w])
			msg := stanza.Message{ID: id, To: to.jid.Bare(), Type: stanza.ChatMessage}
			err := from.s.Send(octx, msg.Wrap(xmlstream.Wrap(xmlstream.Token(xml.CharData(body)), xml.StartElement{Name: xml.Name{Local: "body"}})))
			if err != nil {
				if _, ok := pend.take(id); ok {
					<-windows[w]
				}
				rec.failure(err)
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
