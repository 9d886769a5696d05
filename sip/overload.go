package sip

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// loadGuard bounds the requests handled at once (Config.MaxInFlight).
// Past the bound a new request is answered 503 with Retry-After at once
// (RFC 3261 §21.5.4), which costs little, ends its server transaction
// (whose retransmissions sipgo then absorbs) and tells the client to back
// off; a server that queued instead would answer later than UDP clients
// retransmit (T1, 500 ms), and the retransmissions would add to the load.
type loadGuard struct {
	max      int64
	inFlight atomic.Int64
	refused  atomic.Uint64
	// backlogged is set while the UDP socket's receive queue holds more
	// than Config.UDPBacklogLimit bytes (watchBacklog).
	backlogged atomic.Bool
}

func newLoadGuard(maxInFlight int) *loadGuard {
	return &loadGuard{max: int64(maxInFlight)}
}

// admit takes a slot; false when the server is full.
func (g *loadGuard) admit() bool {
	if g.backlogged.Load() {
		g.refused.Add(1)
		return false
	}
	if g.inFlight.Add(1) > g.max {
		g.inFlight.Add(-1)
		g.refused.Add(1)
		return false
	}
	return true
}

func (g *loadGuard) done() { g.inFlight.Add(-1) }

// retryAfter is the Retry-After given when full: 1 to 3 seconds, spread
// so that refused clients do not all come back in the same instant.
func retryAfter() sipmsg.Header {
	return sipmsg.NewHeader("Retry-After", strconv.Itoa(1+rand.IntN(3)))
}

// loadMW is the global load guard, before any other work. ACK and CANCEL
// always pass: they end transactions that hold resources. An INVITE is
// refused when the server is full but gives its slot back once admitted,
// as it may ring for minutes while costing next to nothing.
func (s *Server) loadMW(next Handler) Handler {
	return func(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
		if req.IsAck() || req.IsCancel() {
			return next(ctx, req, tx)
		}
		if !s.load.admit() {
			return statusErr(503, "Service Unavailable (overloaded)", retryAfter())
		}
		if req.IsInvite() {
			s.load.done()
			return next(ctx, req, tx)
		}
		defer s.load.done()
		return next(ctx, req, tx)
	}
}

// backlogInterval is how often the UDP receive queue is measured.
const backlogInterval = 5 * time.Millisecond

// watchBacklog measures the UDP socket's receive queue until ctx ends.
// Requests that wait there are invisible to the in-flight count: with a
// large receive buffer a server past saturation would answer them late
// (after the client's retransmissions) instead of refusing them. Above
// limit bytes the guard refuses every new request until the queue is
// below half of it, which drains it at the cost of a 503 each.
func (s *Server) watchBacklog(ctx context.Context, sc syscall.Conn, limit int) {
	if _, err := socketBacklog(sc); err != nil {
		s.log.Warn().Err(err).Msg("udp backlog guard off")
		return
	}
	t := time.NewTicker(backlogInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := socketBacklog(sc)
		if err != nil {
			continue // the socket is closing
		}
		switch was := s.load.backlogged.Load(); {
		case !was && n > limit:
			s.load.backlogged.Store(true)
			s.log.Debug().Int("bytes", n).Msg("udp backlog over the limit: refusing new requests")
		case was && n < limit/2:
			s.load.backlogged.Store(false)
		}
	}
}

// Overload reports the requests being handled now and how many were
// refused with 503 because too many were, since the server started.
func (s *Server) Overload() (inFlight int, refused uint64) {
	return int(s.load.inFlight.Load()), s.load.refused.Load()
}
