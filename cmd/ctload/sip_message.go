package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// runMessage is sip-message: -c pairs, each one user agent registering
// accounts 2k and 2k+1 at its own address, then -n MESSAGE requests in all
// through the server, each pair alternating direction. Credentials are
// answered pre-emptively once challenged (nonce reuse). Latency is to the
// final response, which the receiving user agent sends after the server
// relayed the request to it.
func (c *sipClient) runMessage(ctx context.Context, m meter, res *Result) error {
	pairs := c.cfg.Concurrent
	deadline := time.Now().Add(c.cfg.Duration)
	var delivered atomic.Int64
	uas := make([]*sipUA, pairs)
	defer closeUAs(uas)
	for w := range uas {
		ua, err := c.newUA(ctx, w, func(*sipmsg.Request) { delivered.Add(1) })
		if err != nil {
			return err
		}
		uas[w] = ua
	}
	regs := loop{n: 2 * pairs, workers: min(2*pairs, 32), deadline: deadline}
	p, err := m.phase("register", func(rec *recorder) int64 {
		return regs.run(ctx, func(ctx context.Context, _, i int) {
			octx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
			defer cancel()
			start := time.Now()
			if err := uas[i/2].register(octx, c.cfg.account(i), 300); err != nil {
				rec.failure(err)
				return
			}
			rec.success(time.Since(start))
		})
	})
	res.Phases = append(res.Phases, p)
	if err != nil || p.Failed > 0 || p.OK < int64(2*pairs) {
		return err
	}
	defer func() {
		// Unregister, best effort, so a later run starts clean.
		for i := range 2 * pairs {
			octx, cancel := context.WithTimeout(ctx, time.Second)
			_ = uas[i/2].register(octx, c.cfg.account(i), 0)
			cancel()
		}
	}()

	body := []byte(strings.Repeat("x", c.cfg.BodySize))
	msgs := loop{n: c.cfg.Count, workers: pairs, rate: c.cfg.Rate, deadline: deadline}
	p, err = m.phase("message", func(rec *recorder) int64 {
		return msgs.run(ctx, func(ctx context.Context, w, i int) {
			from, to := c.cfg.account(2*w), c.cfg.account(2*w+1)
			if i%2 == 1 {
				from, to = to, from
			}
			octx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
			defer cancel()
			req := uas[w].newRequest(sipmsg.MESSAGE, aor(to), from, aor(to))
			req.AppendHeader(sipmsg.NewHeader("Content-Type", "text/plain"))
			req.SetBody(body)
			start := time.Now()
			r, err := uas[w].do(octx, req, from, true)
			switch {
			case err != nil:
				rec.failure(err)
			case r.StatusCode < 200 || r.StatusCode > 299:
				rec.failure(fmt.Errorf("MESSAGE: %d %s", r.StatusCode, r.Reason))
			default:
				rec.success(time.Since(start))
			}
		})
	})
	res.Phases = append(res.Phases, p)
	res.Notes = append(res.Notes, fmt.Sprintf("message latency: MESSAGE sent to 2xx received, relayed by the server to the peer user agent; %d MESSAGEs arrived at the receivers", delivered.Load()))
	return err
}
