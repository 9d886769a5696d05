package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// runCross is cross: -c pairs, each an XMPP session of account 2k and a SIP
// user agent registered as account 2k+1, both on the server under test,
// which must translate between them (only Crosstalk does). Two phases of
// -n/2 messages each, so each direction gets its own rate and latency:
//
//   - xmpp-to-sip: the XMPP session sends <message/> to the bare JID of
//     account 2k+1; the server relays it as a MESSAGE to the user agent's
//     contact. At most chatWindow in flight per pair. Latency is from just
//     before the send to the user agent reading the MESSAGE, matched by the
//     id written at the start of the body. As in xmpp-chat, messages are
//     written as prepared bytes on the TLS connection (those already due
//     together in one write) and arrivals at the XMPP sessions are found
//     by the byte scanner.
//   - sip-to-xmpp: the user agent sends a MESSAGE (digest-authenticated,
//     challenge answered pre-emptively) to account 2k; the server delivers
//     it to the XMPP session as a <message/> whose id is the Call-ID.
//     One MESSAGE awaiting its answer per pair (nonce counts must rise
//     in order).
//     Latency is from just before the send to the session reading the
//     stanza; a non-2xx answer is a failure.
func runCross(ctx context.Context, x *xmppClient, c *sipClient, m meter, res *Result) error {
	cfg := x.cfg
	pairs := cfg.Concurrent
	deadline := time.Now().Add(cfg.Duration)
	pend := newPending()
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // ids unique across runs: Call-IDs become stanza ids

	uas := make([]*sipUA, pairs)
	defer closeUAs(uas)
	for w := range uas {
		ua, err := c.newUA(ctx, 2*w+1, func(req *sipmsg.Request) {
			id, _, _ := bytes.Cut(req.Body(), []byte(" "))
			pend.arrived(string(id), "", time.Now())
		})
		if err != nil {
			return err
		}
		uas[w] = ua
	}
	sessions := make([]*xmppSession, pairs)
	defer closeAll(sessions)

	setup := loop{n: 2 * pairs, workers: min(2*pairs, 32), deadline: deadline}
	p, err := m.phase("login-and-register", func(rec *recorder) int64 {
		return setup.run(ctx, func(ctx context.Context, _, i int) {
			octx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			defer cancel()
			start := time.Now()
			w := i / 2
			if i%2 == 1 {
				if err := uas[w].register(octx, cfg.account(i), 300); err != nil {
					rec.failure(err)
					return
				}
			} else {
				s, err := x.login(octx, i, true, handlers{direct: pend.arrivedRaw, directFail: pend.fail})
				if err != nil {
					rec.failure(err)
					return
				}
				sessions[w] = s
			}
			rec.success(time.Since(start))
		})
	})
	res.Phases = append(res.Phases, p)
	if err != nil || p.Failed > 0 || p.OK < int64(2*pairs) {
		return err
	}
	defer func() {
		for w := range pairs { // unregister, best effort, so a later run starts clean
			octx, cancel := context.WithTimeout(ctx, time.Second)
			_ = uas[w].register(octx, cfg.account(2*w+1), 0)
			cancel()
		}
	}()

	// After login, messages bypass mellium, as in xmpp-chat: each is
	// written as prepared bytes on the TLS connection, under the session's
	// write lock, and arrivals are found by the rawConn's scanner.
	// (mellium's Send watches its context in a goroutine that may set a
	// past write deadline after Send returned, when the context ends
	// then: a later write on the session fails with "i/o timeout", and TLS
	// keeps that error, so every later message of the pair failed.)
	pad := strings.Repeat("x", cfg.BodySize)
	toSIP := cfg.Count / 2
	out := make([]crossSender, pairs)
	for w, s := range sessions {
		out[w] = newCrossSender(s, cfg.account(2*w+1).Addr(), "xs"+run+"-", pad)
		s.raw.takeOver()
	}
	windows := make([]chan struct{}, pairs)
	for i := range windows {
		windows[i] = make(chan struct{}, chatWindow)
	}
	msgs := loop{n: toSIP, workers: pairs, rate: cfg.Rate, deadline: deadline}
	p, err = m.phase("xmpp-to-sip", func(rec *recorder) int64 {
		pend.start(rec)
		n := msgs.runBatch(ctx, chatBatch, func(ctx context.Context, w int, is []int) {
			// Messages due together leave in one write, timestamped
			// just before it.
			var ids []string
			for _, i := range is {
				if !acquire(ctx, windows[w], cfg.Timeout) {
					rec.failure(errNotDelivered)
					continue
				}
				ids = append(ids, out[w].add(i))
			}
			if len(ids) == 0 {
				return
			}
			at := time.Now()
			for _, id := range ids {
				pend.add(id, at, windows[w])
			}
			if err := out[w].send(cfg.Timeout); err != nil {
				for _, id := range ids {
					if _, ok := pend.take(id); ok {
						<-windows[w]
					}
					rec.failure(err)
				}
			}
		})
		for range pend.drain(ctx, cfg.Timeout) {
			rec.failure(errNotDelivered)
		}
		return n
	})
	res.Phases = append(res.Phases, p)
	if err != nil {
		return err
	}

	body := []byte(pad)
	msgs = loop{n: cfg.Count - toSIP, workers: pairs, rate: cfg.Rate, deadline: deadline}
	p, err = m.phase("sip-to-xmpp", func(rec *recorder) int64 {
		pend.start(rec)
		n := msgs.run(ctx, func(ctx context.Context, w, i int) {
			from, to := cfg.account(2*w+1), cfg.account(2*w)
			octx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			defer cancel()
			id := "sx" + run + "-" + strconv.Itoa(i)
			req := uas[w].newRequest(sipmsg.MESSAGE, aor(to), from, aor(to))
			cid := sipmsg.CallIDHeader(id)
			req.AppendHeader(&cid)
			req.AppendHeader(sipmsg.NewHeader("Content-Type", "text/plain;charset=UTF-8"))
			req.SetBody(body)
			select { // the MESSAGE's 2xx may come before the stanza is read
			case windows[w] <- struct{}{}:
			case <-octx.Done():
				rec.failure(errNotDelivered)
				return
			}
			pend.add(id, time.Now(), windows[w])
			r, err := uas[w].do(octx, req, from, true)
			switch {
			case err != nil:
				if _, ok := pend.take(id); ok {
					<-windows[w]
				}
				rec.failure(err)
			case r.StatusCode < 200 || r.StatusCode > 299:
				if _, ok := pend.take(id); ok {
					<-windows[w]
				}
				rec.failure(fmt.Errorf("MESSAGE: %d %s", r.StatusCode, r.Reason))
			}
		})
		for range pend.drain(ctx, cfg.Timeout) {
			rec.failure(errNotDelivered)
		}
		return n
	})
	res.Phases = append(res.Phases, p)
	res.Notes = append(res.Notes,
		"xmpp-to-sip latency: <message/> (prepared bytes, those due together in one write) sent to MESSAGE read by the user agent, matched by the id that starts the body; "+strconv.Itoa(chatWindow)+" in flight per pair at most",
		"sip-to-xmpp latency: MESSAGE sent to <message/> read by the XMPP session, matched by Call-ID = stanza id; one in flight per pair")
	return err
}

// crossSender writes one session's messages to a SIP user agent as
// prepared bytes; each body starts with the message's id and a space,
// which is how the user agent matches what it receives.
type crossSender struct {
	s *xmppSession
	// head ends just before the id; mid joins the id attribute to the
	// body, which starts with the id again; tail follows it.
	head, mid, tail []byte
	prefix          string
	buf             []byte
}

func newCrossSender(s *xmppSession, to, prefix, pad string) crossSender {
	var h, t strings.Builder
	h.WriteString("<message type='chat' to='")
	_ = xml.EscapeText(&h, []byte(to))
	h.WriteString("' id='")
	t.WriteString(" ")
	_ = xml.EscapeText(&t, []byte(pad))
	t.WriteString("</body></message>")
	return crossSender{s: s, head: []byte(h.String()), mid: []byte("'><body>"), tail: []byte(t.String()), prefix: prefix}
}

// add appends message i to the buffer and returns its id (prefix and i;
// the prefix must need no XML escaping).
func (c *crossSender) add(i int) string {
	c.buf = append(c.buf, c.head...)
	n := len(c.buf)
	c.buf = append(c.buf, c.prefix...)
	c.buf = strconv.AppendInt(c.buf, int64(i), 10)
	id := string(c.buf[n:])
	c.buf = append(c.buf, c.mid...)
	c.buf = append(c.buf, id...)
	c.buf = append(c.buf, c.tail...)
	return id
}

// send writes the added messages while holding the session's write lock,
// within timeout (after a timed-out write the TLS connection fails every
// later one: the pair's messages then all fail, as they should).
func (c *crossSender) send(timeout time.Duration) error {
	w := c.s.s.TokenWriter()
	err := c.s.raw.Conn.SetWriteDeadline(time.Now().Add(timeout))
	if err == nil {
		_, err = c.s.raw.Conn.Write(c.buf)
		if derr := c.s.raw.Conn.SetWriteDeadline(time.Time{}); err == nil {
			err = derr
		}
	}
	c.buf = c.buf[:0]
	if cerr := w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	return nil
}
