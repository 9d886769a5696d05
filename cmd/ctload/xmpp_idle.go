package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// idleSettle is how long to let the server settle after the last login
// before reading its memory.
const idleSettle = time.Second

// errDropped counts a held session the server ended.
var errDropped = errors.New("session ended by the server while held")

// runIdle is xmpp-idle: open -n sessions (-c logins at a time), let the
// server settle, read its RSS (with -pid), hold them for -hold, and count
// how many survived. The sessions are authenticated, bound and have their
// roster but send no presence: many sessions share an account, and
// presence among one account's resources would grow with their square.
func (x *xmppClient) runIdle(ctx context.Context, m meter, res *Result) error {
	var before procSample
	var err error
	if m.pid > 0 {
		if before, err = sampleProc(m.proc, m.pid); err != nil {
			return err
		}
	}
	sessions := make([]*xmppSession, x.cfg.Count)
	defer closeAll(sessions)
	var mu sync.Mutex
	l := loop{n: x.cfg.Count, workers: x.cfg.Concurrent, rate: x.cfg.Rate, deadline: time.Now().Add(x.cfg.Duration)}
	p, err := m.phase("login", func(rec *recorder) int64 {
		return l.run(ctx, func(ctx context.Context, _, i int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			start := time.Now()
			s, err := x.login(octx, i, false, handlers{})
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
	if err != nil {
		return err
	}
	res.Sessions = int(p.OK)
	sleepUntil(ctx, time.Now().Add(idleSettle))
	if m.pid > 0 && p.OK > 0 {
		after, err := sampleProc(m.proc, m.pid)
		if err != nil {
			return err
		}
		res.ServerRSSBeforeKB, res.ServerRSSAfterKB = before.RSSKB, after.RSSKB
		res.ServerRSSPerSessKB = float64(after.RSSKB-before.RSSKB) / float64(p.OK)
		res.Notes = append(res.Notes, fmt.Sprintf("RSS per session = (RSS with %d sessions after %s − RSS before) / sessions; summed over %d server processes; sessions are authenticated and bound, with no presence sent", p.OK, idleSettle, after.Procs))
	}
	hold, err := m.phase("hold", func(rec *recorder) int64 {
		sleepUntil(ctx, time.Now().Add(x.cfg.Hold))
		var n int64
		for _, s := range sessions {
			if s == nil {
				continue
			}
			n++
			select {
			case err := <-s.served:
				rec.failure(fmt.Errorf("%w: %w", errDropped, err))
				s.served <- err
			default:
				rec.success(0)
			}
		}
		return n
	})
	res.Phases = append(res.Phases, hold)
	return err
}
