package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// errPresenceLost counts a presence change a contact did not receive.
var errPresenceLost = errors.New("presence not received by a contact within the operation timeout")

// errRosterIncomplete counts a session that did not see all its contacts
// online after subscribing.
var errRosterIncomplete = errors.New("not every contact's presence arrived after subscribing")

// presenceGroups lays sessions out in full-mesh groups of contacts+1: each
// session's contacts are the other members of its group.
type presenceGroups struct {
	contacts int // per session
	sessions int // a multiple of contacts+1
	index    map[string]int
}

// group returns the first session index of i's group.
func (g presenceGroups) group(i int) int { return i / (g.contacts + 1) * (g.contacts + 1) }

// peers returns i's contacts.
func (g presenceGroups) peers(i int) []int {
	out := make([]int, 0, g.contacts)
	for j := g.group(i); j < g.group(i)+g.contacts+1; j++ {
		if j != i {
			out = append(out, j)
		}
	}
	return out
}

// presenceTracker follows subscriptions (which contacts each session has
// seen available) and, during the measurement, presence changes in flight.
type presenceTracker struct {
	g   presenceGroups
	mu  sync.Mutex
	rec *recorder
	// seen[i] holds the contacts session i has seen available; asked[i]
	// those it has asked back.
	seen, asked []map[int]bool
	// inflight: status text → send time and contacts still to receive it.
	inflight map[string]*change
}

type change struct {
	at      time.Time
	pending int
}

// on is session i's presence callback.
func (p *presenceTracker) on(i int) func(presenceEvent) {
	return func(ev presenceEvent) {
		p.mu.Lock()
		defer p.mu.Unlock()
		j, ok := p.g.index[ev.From]
		if !ok || j == i {
			return
		}
		if ev.Type == "" {
			p.seen[i][j] = true
		}
		if c := p.inflight[ev.Status]; c != nil && p.rec != nil {
			p.rec.success(ev.At.Sub(c.at))
			if c.pending--; c.pending <= 0 {
				delete(p.inflight, ev.Status)
			}
		}
	}
}

// back is session i's subscribeBack: true the first time for each contact.
func (p *presenceTracker) back(i int) func(string) bool {
	return func(from string) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		j, ok := p.g.index[from]
		if !ok || j == i || p.asked[i][j] {
			return false
		}
		p.asked[i][j] = true
		return true
	}
}

// complete returns how many sessions have seen all their contacts.
func (p *presenceTracker) complete() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.seen {
		if len(s) >= p.g.contacts {
			n++
		}
	}
	return n
}

// outstanding returns the deliveries still expected.
func (p *presenceTracker) outstanding() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.inflight {
		n += c.pending
	}
	return n
}

// runPresence is xmpp-presence: sessions in full-mesh groups of
// -contacts+1 log in, subscribe to each other (answering requests), and
// then change status -n times in all (-c at a time, paced by -rate), each
// change fanned out by the server to -contacts online contacts. Latency is
// from the change to each contact's arrival, matched by status text; the
// rate counted is deliveries per second.
func (x *xmppClient) runPresence(ctx context.Context, m meter, res *Result) error {
	k := x.cfg.Contacts
	g := presenceGroups{contacts: k, sessions: x.cfg.Accounts / (k + 1) * (k + 1), index: make(map[string]int)}
	for i := range g.sessions {
		a := x.cfg.account(i)
		bare, err := jid.New(a.Local, a.Domain, "")
		if err != nil {
			return fmt.Errorf("account %s: %w", a.Addr(), err)
		}
		g.index[bare.String()] = i
	}
	tr := &presenceTracker{g: g, seen: make([]map[int]bool, g.sessions), asked: make([]map[int]bool, g.sessions), inflight: make(map[string]*change)}
	for i := range tr.seen {
		tr.seen[i], tr.asked[i] = make(map[int]bool), make(map[int]bool)
	}
	deadline := time.Now().Add(x.cfg.Duration)
	sessions := make([]*xmppSession, g.sessions)
	defer closeAll(sessions)
	var mu sync.Mutex

	logins := loop{n: g.sessions, workers: min(g.sessions, 32), deadline: deadline}
	p, err := m.phase("login", func(rec *recorder) int64 {
		return logins.run(ctx, func(ctx context.Context, _, i int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			start := time.Now()
			s, err := x.login(octx, i, true, handlers{presence: tr.on(i), acceptSubscriptions: true, subscribeBack: tr.back(i)})
			if err != nil {
				rec.failure(err)
				return
			}
			rec.success(time.Since(start))
			mu.Lock()
			sessions[i] = s
			mu.Unlock()
		})
	})
	res.Phases = append(res.Phases, p)
	if err != nil || p.Failed > 0 || p.OK < int64(g.sessions) {
		return err
	}

	// Subscribe both ways within each group (unless -subscribe=false: the
	// rosters were provisioned), as two clients would: the lower-numbered
	// session asks, the other accepts and asks back, once; nothing crosses.
	// Done when every session has seen every contact available.
	subs := loop{n: g.sessions, workers: min(g.sessions, 32), deadline: deadline}
	p, err = m.phase("subscribe", func(rec *recorder) int64 {
		start := time.Now()
		if !x.cfg.Subscribe {
			subs.n = 0
		}
		subs.run(ctx, func(_ context.Context, _, i int) {
			for _, j := range g.peers(i) {
				if j < i {
					continue
				}
				if err := sessions[i].send(stanza.Presence{To: sessions[j].jid.Bare(), Type: stanza.SubscribePresence}.Wrap(nil), x.cfg.Timeout); err != nil {
					rec.failure(fmt.Errorf("subscribe: %w", err))
					return
				}
			}
		})
		until := time.Now().Add(3 * x.cfg.Timeout)
		for tr.complete() < g.sessions && time.Now().Before(until) && sleepUntil(ctx, time.Now().Add(20*time.Millisecond)) {
		}
		done := tr.complete()
		for range done {
			rec.success(time.Since(start))
		}
		for range g.sessions - done {
			rec.failure(errRosterIncomplete)
		}
		return int64(g.sessions)
	})
	res.Phases = append(res.Phases, p)
	if err != nil || p.Failed > 0 {
		return err
	}

	shows := [...]string{"away", "chat", "dnd", "xa"}
	changes := loop{n: x.cfg.Count, workers: x.cfg.Concurrent, rate: x.cfg.Rate, deadline: deadline}
	maxOutstanding := chatWindow * x.cfg.Concurrent * k
	p, err = m.phase("presence", func(rec *recorder) int64 {
		tr.mu.Lock()
		tr.rec = rec
		tr.mu.Unlock()
		n := changes.run(ctx, func(ctx context.Context, _, i int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			// Bound what is in flight: wait for room, as deliveries drain.
			for tr.outstanding() >= maxOutstanding && sleepUntil(octx, time.Now().Add(time.Millisecond)) {
			}
			status := "ctp" + strconv.Itoa(i)
			tr.mu.Lock()
			tr.inflight[status] = &change{at: time.Now(), pending: k}
			tr.mu.Unlock()
			el := xmlstream.MultiReader(
				xmlstream.Wrap(xmlstream.Token(xml.CharData(shows[i%len(shows)])), xml.StartElement{Name: xml.Name{Local: "show"}}),
				xmlstream.Wrap(xmlstream.Token(xml.CharData(status)), xml.StartElement{Name: xml.Name{Local: "status"}}),
			)
			if err := sessions[i%g.sessions].send(stanza.Presence{}.Wrap(el), x.cfg.Timeout); err != nil {
				tr.mu.Lock()
				delete(tr.inflight, status)
				tr.mu.Unlock()
				rec.failure(fmt.Errorf("presence: %w", err))
			}
		})
		until := time.Now().Add(x.cfg.Timeout)
		for tr.outstanding() > 0 && time.Now().Before(until) && sleepUntil(ctx, time.Now().Add(10*time.Millisecond)) {
		}
		tr.mu.Lock()
		for _, c := range tr.inflight {
			for range c.pending {
				rec.failure(errPresenceLost)
			}
		}
		clear(tr.inflight)
		tr.rec = nil
		tr.mu.Unlock()
		return n
	})
	res.Phases = append(res.Phases, p)
	res.Notes = append(res.Notes, fmt.Sprintf("%d sessions in full-mesh groups of %d: each status change goes to %d online contacts; ok, per s and latency count deliveries (changes = deliveries / %d)", g.sessions, k+1, k, k),
		"server CPU per operation is per delivery")
	return err
}
