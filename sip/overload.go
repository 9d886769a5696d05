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
	// refuseShare is the share of new requests refused, in 1/65536ths,
	// set from how long requests wait in the UDP socket's receive queue
	// (queued).
	refuseShare atomic.Uint32
	// trips counts the times refuseShare left zero.
	trips atomic.Uint64
	// stale counts the datagrams discarded unread for their wait.
	stale atomic.Uint64
	// lastWait is the queue wait of the latest datagram read, in
	// nanoseconds.
	lastWait atomic.Int64
}

func newLoadGuard(maxInFlight int) *loadGuard {
	return &loadGuard{max: int64(maxInFlight)}
}

// admit takes a slot; false when the server is full.
func (g *loadGuard) admit() bool {
	if share := g.refuseShare.Load(); share > 0 && (share >= shareAll || rand.Uint32N(shareAll) < share) {
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
	// QueueStale is how many requests the guard discarded unanswered,
	// having waited longer than T1 (500 ms) in the UDP queue.
	QueueStale uint64
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
		QueueStale:    s.load.stale.Load(),
		LastQueueWait: time.Duration(s.load.lastWait.Load()),
	}
}
