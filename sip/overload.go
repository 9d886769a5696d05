package sip

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
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
	// backlogged is set while requests wait longer than
	// Config.UDPQueueDelayLimit in the UDP socket's receive queue (queued).
	backlogged atomic.Bool
	// trips counts the times backlogged was set.
	trips atomic.Uint64
	// lastWait is the queue wait of the latest datagram read, in
	// nanoseconds.
	lastWait atomic.Int64
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

// queued is told, for each datagram read from the UDP listener, how long
// it waited in the socket's receive queue. Requests waiting there are
// invisible to the in-flight count: with a large receive buffer a server
// past saturation would answer them late, after the clients' first
// retransmission (T1, 500 ms), instead of refusing them. Once a datagram
// has waited more than limit, the guard refuses every new request until
// one has waited less than half of it: a refusal costs a fraction of a
// served request, so the queue drains and the clients back off. Keyed to
// time rather than to the queue's bytes, a short stall of the process
// (GC, a busy machine) at a high but sustainable rate refuses nothing.
func (g *loadGuard) queued(wait, limit time.Duration) {
	g.lastWait.Store(int64(wait))
	switch was := g.backlogged.Load(); {
	case !was && wait > limit:
		g.backlogged.Store(true)
		g.trips.Add(1)
	case was && wait < limit/2:
		g.backlogged.Store(false)
	}
}

// OverloadStats is the state of a server's load guard (Server.Overload).
type OverloadStats struct {
	// InFlight is the requests being handled now.
	InFlight int
	// Refused is how many requests got 503 because the server was full or
	// its UDP queue too slow, since it started.
	Refused uint64
	// QueueTrips is how many times the UDP queue-delay guard started
	// refusing.
	QueueTrips uint64
	// LastQueueWait is how long the latest datagram read from the UDP
	// listener waited in its receive queue; zero without the guard.
	LastQueueWait time.Duration
}

// Overload reports the load guard's state.
func (s *Server) Overload() OverloadStats {
	return OverloadStats{
		InFlight:      int(s.load.inFlight.Load()),
		Refused:       s.load.refused.Load(),
		QueueTrips:    s.load.trips.Load(),
		LastQueueWait: time.Duration(s.load.lastWait.Load()),
	}
}
