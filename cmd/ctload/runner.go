package main

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// loop bounds a batch of operations: at most n of them, by at most workers
// at once, started no faster than rate per second (0: unpaced) and none
// started after deadline.
type loop struct {
	n        int
	workers  int
	rate     float64
	deadline time.Time
}

// run calls op(ctx, worker, i) for i = 0, 1, … until n operations were
// started, the deadline passed or ctx ended, and returns how many were
// started. Operation i is not started before start + i/rate.
func (l loop) run(ctx context.Context, op func(ctx context.Context, worker, i int)) int64 {
	return l.runBatch(ctx, 1, func(ctx context.Context, w int, is []int) { op(ctx, w, is[0]) })
}

// runBatch is run where a worker that wakes for operation i also takes
// the operations after it that are already due (the pacer is behind), up
// to maxBatch in all, and gets them in one call (in order).
func (l loop) runBatch(ctx context.Context, maxBatch int, op func(ctx context.Context, worker int, is []int)) int64 {
	var next, started atomic.Int64
	start := time.Now()
	due := func(i int64) time.Time {
		return start.Add(time.Duration(float64(i) / l.rate * float64(time.Second)))
	}
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Go(func() {
			var tm *time.Timer // reused: one pacing timer per worker
			defer func() {
				if tm != nil {
					tm.Stop()
				}
			}()
			batch := make([]int, 0, maxBatch)
			for {
				i := next.Add(1) - 1
				if i >= int64(l.n) || ctx.Err() != nil || !time.Now().Before(l.deadline) {
					return
				}
				if l.rate > 0 {
					at := due(i)
					if at.After(l.deadline) {
						return
					}
					if d := time.Until(at); d > 0 {
						if tm == nil {
							tm = time.NewTimer(d)
						} else {
							tm.Reset(d)
						}
						select {
						case <-tm.C:
						case <-ctx.Done():
							return
						}
					}
				}
				batch = append(batch[:0], int(i))
				now := time.Now()
				for len(batch) < maxBatch && l.rate > 0 {
					j := next.Load()
					if j >= int64(l.n) || due(j).After(now) || !next.CompareAndSwap(j, j+1) {
						break
					}
					batch = append(batch, int(j))
				}
				started.Add(int64(len(batch)))
				op(ctx, w, batch)
			}
		})
	}
	wg.Wait()
	return started.Load()
}

// sleepUntil waits until t or the end of ctx; it reports whether t came.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newDialer returns a TCP dialer bound to src (when valid) that refuses any
// non-loopback destination at connect time.
func newDialer(src netip.Addr, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, Control: loopbackOnly}
	if src.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	return d
}
