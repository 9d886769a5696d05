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
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
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
//     id written at the start of the body.
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
				s, err := x.login(octx, i, true, handlers{message: pend.arrived})
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

	pad := strings.Repeat("x", cfg.BodySize)
	toSIP := cfg.Count / 2
	windows := make([]chan struct{}, pairs)
	for i := range windows {
		windows[i] = make(chan struct{}, chatWindow)
	}
	msgs := loop{n: toSIP, workers: pairs, rate: cfg.Rate, deadline: deadline}
	p, err = m.phase("xmpp-to-sip", func(rec *recorder) int64 {
		pend.start(rec)
		n := msgs.run(ctx, func(ctx context.Context, w, i int) {
			octx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			defer cancel()
			select {
			case windows[w] <- struct{}{}:
			case <-octx.Done():
				rec.failure(errNotDelivered)
				return
			}
			id := "xs" + run + "-" + strconv.Itoa(i)
			to := cfg.account(2*w + 1)
			pend.add(id, time.Now(), windows[w])
			toJID, err := jid.New(to.Local, to.Domain, "")
			if err != nil {
				pend.take(id)
				<-windows[w]
				rec.failure(err)
				return
			}
			msg := stanza.Message{ID: id, To: toJID, Type: stanza.ChatMessage}
			body := id + " " + pad
			err = sessions[w].s.Send(octx, msg.Wrap(xmlstream.Wrap(xmlstream.Token(xml.CharData(body)), xml.StartElement{Name: xml.Name{Local: "body"}})))
			if err != nil {
				if _, ok := pend.take(id); ok {
					<-windows[w]
				}
				rec.failure(err)
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
		"xmpp-to-sip latency: <message/> sent to MESSAGE read by the user agent, matched by the id that starts the body; "+strconv.Itoa(chatWindow)+" in flight per pair at most",
		"sip-to-xmpp latency: MESSAGE sent to <message/> read by the XMPP session, matched by Call-ID = stanza id; one in flight per pair")
	return err
}
