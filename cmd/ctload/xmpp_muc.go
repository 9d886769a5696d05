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

	"mellium.im/xmlstream"
	mxmpp "mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// XEP-0045 namespaces.
const (
	nsMUC      = "http://jabber.org/protocol/muc"
	nsMUCOwner = "http://jabber.org/protocol/muc#owner"
	nsMUCUser  = "http://jabber.org/protocol/muc#user"
	nsXData    = "jabber:x:data"
)

// mucWindow is how many messages one busy-room sender may have in flight
// (sent, not yet delivered to every other occupant).
const mucWindow = 8

// errNotJoined counts an occupant whose join the room did not confirm
// (self-presence, XEP-0045 §7.2.2) within the operation timeout.
var errNotJoined = errors.New("no self-presence from the room within the operation timeout")

// errMUCBounced counts a groupchat message the room answered with an error.
var errMUCBounced = errors.New("groupchat message bounced with an error stanza")

// mucJoin is what the room said to one occupant's join.
type mucJoin struct {
	created bool // status 201: a new room, locked until configured
	err     error
}

// mucMsg is one groupchat message in flight.
type mucMsg struct {
	at      time.Time
	sender  int
	pending int           // occupants still to receive it
	rec     *recorder     // completions: time to the last delivery
	drec    *recorder     // each delivery, or nil
	done    chan struct{} // closed once every occupant has it
	window  chan struct{} // the sender's window slot, released then (or nil)
}

// mucRun is one muc run: the room, every occupant's join outcome and the
// messages in flight.
type mucRun struct {
	room     jid.JID // bare room address
	joined   []chan mucJoin
	mu       sync.Mutex
	inflight map[string]*mucMsg
}

// nick is occupant i's nickname.
func nick(i int) string { return "o" + strconv.Itoa(i) }

// handler is occupant i's stanza handler: its own presence from the room
// completes its join; groupchat messages are matched by id.
func (r *mucRun) handler(i int) mxmpp.Handler {
	self := r.room.String() + "/" + nick(i)
	return mxmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		at := time.Now()
		var id, typ, from string
		for _, a := range start.Attr {
			switch a.Name.Local {
			case "id":
				id = a.Value
			case "type":
				typ = a.Value
			case "from":
				from = a.Value
			}
		}
		switch start.Name.Local {
		case "message":
			switch typ {
			case string(stanza.GroupChatMessage):
				r.delivered(i, id, at)
			case string(stanza.ErrorMessage):
				r.bounced(id)
			}
		case "presence":
			if from != self {
				return nil
			}
			created, cond := mucPresenceInfo(t)
			j := mucJoin{created: created}
			if typ == string(stanza.ErrorPresence) {
				j.err = fmt.Errorf("join refused: %s", cond)
			}
			select {
			case r.joined[i] <- j:
			default: // only the first self-presence matters
			}
		}
		return nil
	})
}

// mucPresenceInfo reads a presence's children: whether it carries status
// code 201 (room created) and, for an error, its condition.
func mucPresenceInfo(r xml.TokenReader) (created bool, cond string) {
	depth, inError := 0, false
	for range maxStanzaTokens {
		tok, err := r.Token()
		if err != nil {
			break
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				inError = tk.Name.Local == "error"
			}
			if depth == 2 && inError && cond == "" {
				cond = tk.Name.Local
			}
			if depth == 2 && tk.Name.Space == nsMUCUser && tk.Name.Local == "status" {
				for _, a := range tk.Attr {
					created = created || (a.Name.Local == "code" && a.Value == "201")
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if cond == "" {
		cond = "no condition"
	}
	return created, cond
}

// track records a message about to be sent to the room.
func (r *mucRun) track(id string, m *mucMsg) {
	r.mu.Lock()
	r.inflight[id] = m
	r.mu.Unlock()
}

// forget removes a message, reporting whether it was still in flight.
func (r *mucRun) forget(id string) (*mucMsg, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.inflight[id]
	delete(r.inflight, id)
	return m, ok
}

// delivered counts message id's arrival at occupant i (the sender's own
// echo is not a delivery).
func (r *mucRun) delivered(i int, id string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.inflight[id]
	if m == nil || m.sender == i {
		return
	}
	if m.drec != nil {
		m.drec.success(at.Sub(m.at))
	}
	if m.pending--; m.pending > 0 {
		return
	}
	delete(r.inflight, id)
	m.rec.success(at.Sub(m.at))
	m.finish()
}

// bounced fails message id: the room refused it.
func (r *mucRun) bounced(id string) {
	if m, ok := r.forget(id); ok {
		m.rec.failure(errMUCBounced)
		m.finish()
	}
}

// finish wakes whoever waits for the message and frees its window slot.
func (m *mucMsg) finish() {
	close(m.done)
	if m.window != nil {
		<-m.window
	}
}

// drain waits up to d for the messages in flight to complete and fails
// the rest.
func (r *mucRun) drain(ctx context.Context, d time.Duration) {
	until := time.Now().Add(d)
	for time.Now().Before(until) && sleepUntil(ctx, time.Now().Add(10*time.Millisecond)) {
		r.mu.Lock()
		n := len(r.inflight)
		r.mu.Unlock()
		if n == 0 {
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, m := range r.inflight {
		m.rec.failure(errNotDelivered)
		delete(r.inflight, id)
	}
}

// groupchat returns a groupchat message to the room with a body of size bytes.
func (r *mucRun) groupchat(id string, size int) xml.TokenReader {
	body := xmlstream.Wrap(xmlstream.Token(xml.CharData(strings.Repeat("m", size))), xml.StartElement{Name: xml.Name{Local: "body"}})
	return stanza.Message{ID: id, To: r.room, Type: stanza.GroupChatMessage}.Wrap(body)
}

// runMUC is muc: -occupants sessions (one account each) log in and join
// one room on -muc; then (fan-out) -fanout times one occupant sends one
// message and the time until the last other occupant has it is measured;
// then (busy room) -senders occupants send for -busy (at most -n messages,
// paced by -rate, mucWindow in flight each), reporting messages fully
// delivered per second and deliveries per second.
func (x *xmppClient) runMUC(ctx context.Context, m meter, res *Result) error {
	n := x.cfg.Occupants
	room, err := jid.New(x.cfg.Room, x.cfg.MUCHost, "")
	if err != nil {
		return fmt.Errorf("room: %w", err)
	}
	r := &mucRun{room: room, joined: make([]chan mucJoin, n), inflight: make(map[string]*mucMsg)}
	for i := range r.joined {
		r.joined[i] = make(chan mucJoin, 1)
	}
	deadline := time.Now().Add(x.cfg.Duration)
	sessions := make([]*xmppSession, n)
	defer closeAll(sessions)
	var mu sync.Mutex

	logins := loop{n: n, workers: min(n, 32), deadline: deadline}
	p, err := m.phase("login", func(rec *recorder) int64 {
		return logins.run(ctx, func(ctx context.Context, _, i int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			start := time.Now()
			s, err := x.login(octx, i, false, handlers{raw: r.handler(i)})
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
	if err != nil || p.Failed > 0 || p.OK < int64(n) {
		return err
	}

	// Join: occupant 0 first (it creates the room and, if the room is
	// locked, accepts the default configuration), then the others, -c at
	// a time. Latency is from the join presence to the self-presence.
	p, err = m.phase("join", func(rec *recorder) int64 {
		join := func(ctx context.Context, i int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			start := time.Now()
			if err := x.mucJoin(octx, r, sessions[i], i, rec, start); err != nil {
				rec.failure(err)
			}
		}
		first := loop{n: 1, workers: 1, deadline: deadline}
		k := first.run(ctx, func(ctx context.Context, _, _ int) { join(ctx, 0) })
		if ok, _ := rec.counts(); ok == 0 {
			return k
		}
		rest := loop{n: n - 1, workers: x.cfg.Concurrent, deadline: deadline}
		return k + rest.run(ctx, func(ctx context.Context, _, i int) { join(ctx, i+1) })
	})
	res.Phases = append(res.Phases, p)
	if err != nil || p.Failed > 0 || p.OK < int64(n) {
		return err
	}

	// Fan-out: one message at a time into the full room.
	rounds := loop{n: x.cfg.Fanout, workers: 1, deadline: deadline}
	p, err = m.phase("fanout", func(rec *recorder) int64 {
		return rounds.run(ctx, func(ctx context.Context, _, k int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			id, sender := "cf"+strconv.Itoa(k), k%n
			msg := &mucMsg{at: time.Now(), sender: sender, pending: n - 1, rec: rec, done: make(chan struct{})}
			r.track(id, msg)
			if err := sessions[sender].send(r.groupchat(id, x.cfg.BodySize), x.cfg.Timeout); err != nil {
				r.forget(id)
				rec.failure(fmt.Errorf("send: %w", err))
				return
			}
			select {
			case <-msg.done:
			case <-octx.Done():
				if _, ok := r.forget(id); ok {
					rec.failure(errNotDelivered)
				}
			}
		})
	})
	res.Phases = append(res.Phases, p)
	if err != nil {
		return err
	}

	// Busy room: -senders occupants send at once, each with a window.
	senders := x.cfg.Senders
	windows := make([]chan struct{}, senders)
	for i := range windows {
		windows[i] = make(chan struct{}, mucWindow)
	}
	busy := loop{n: x.cfg.Count, workers: senders, rate: x.cfg.Rate, deadline: minTime(deadline, time.Now().Add(x.cfg.Busy))}
	drec := newRecorder()
	p, err = m.phase("busy", func(rec *recorder) int64 {
		k := busy.run(ctx, func(ctx context.Context, w, i int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			select {
			case windows[w] <- struct{}{}:
			case <-octx.Done():
				rec.failure(errNotDelivered)
				return
			}
			id := "cb" + strconv.Itoa(i)
			r.track(id, &mucMsg{at: time.Now(), sender: w, pending: n - 1, rec: rec, drec: drec, done: make(chan struct{}), window: windows[w]})
			if err := sessions[w].send(r.groupchat(id, x.cfg.BodySize), x.cfg.Timeout); err != nil {
				if _, ok := r.forget(id); ok {
					<-windows[w]
				}
				rec.failure(fmt.Errorf("send: %w", err))
			}
		})
		r.drain(ctx, x.cfg.Timeout)
		return k
	})
	res.Phases = append(res.Phases, p, deliveryPhase(p, drec, n-1))
	res.Notes = append(res.Notes,
		fmt.Sprintf("%d occupants in %s; join latency: join presence to self-presence; fanout: one message into the full room, latency to the last of the %d other occupants, server CPU per message", n, room, n-1),
		fmt.Sprintf("busy: %d senders, %d messages in flight each at most; ok and latency count messages delivered to all %d others; delivery counts each arrival (server CPU per delivery)", senders, mucWindow, n-1))
	return err
}

// mucJoin sends occupant i's join presence, waits for its self-presence
// and, when the room was just created and is locked (XEP-0045 §10.1.2),
// accepts the default configuration as an instant room.
func (x *xmppClient) mucJoin(ctx context.Context, r *mucRun, s *xmppSession, i int, rec *recorder, start time.Time) error {
	to, err := r.room.WithResource(nick(i))
	if err != nil {
		return fmt.Errorf("nickname: %w", err)
	}
	hist := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "history"}, Attr: []xml.Attr{{Name: xml.Name{Local: "maxstanzas"}, Value: "0"}}})
	x0 := xmlstream.Wrap(hist, xml.StartElement{Name: xml.Name{Space: nsMUC, Local: "x"}})
	if err := s.send(stanza.Presence{To: to}.Wrap(x0), x.cfg.Timeout); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	var j mucJoin
	select {
	case j = <-r.joined[i]:
	case <-ctx.Done():
		return errNotJoined
	}
	if j.err != nil {
		return j.err
	}
	if j.created {
		form := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsXData, Local: "x"}, Attr: []xml.Attr{{Name: xml.Name{Local: "type"}, Value: "submit"}}})
		q := xmlstream.Wrap(form, xml.StartElement{Name: xml.Name{Space: nsMUCOwner, Local: "query"}})
		if err := s.s.UnmarshalIQElement(ctx, q, stanza.IQ{To: r.room, Type: stanza.SetIQ}, nil); err != nil {
			return fmt.Errorf("configuring the instant room: %w", err)
		}
	}
	rec.success(time.Since(start))
	return nil
}

// deliveryPhase derives the per-delivery view of the busy phase: the same
// interval and server CPU, counted per arrival at an occupant.
func deliveryPhase(busy Phase, drec *recorder, others int) Phase {
	d := busy
	d.Name = "delivery"
	d.Attempted = busy.Attempted * int64(others)
	d.OK, d.Failed = drec.counts()
	d.Latency, d.Errors = drec.summary()
	d.PerSecond, d.ServerCPUPerOp = 0, 0
	if busy.Seconds > 0 {
		d.PerSecond = float64(d.OK) / busy.Seconds
	}
	if d.OK > 0 {
		d.ServerCPUPerOp = busy.ServerCPUMicros / float64(d.OK)
	}
	return d
}

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
