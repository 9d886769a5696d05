package sip

import (
	"bytes"
	"time"
)

// shareAll is a refuseShare of every request.
const shareAll = 1 << 16

// staleWait is how long a request may have waited and still be handled:
// T1 (RFC 3261 §17.1.2.2). By then its client has retransmitted it, and
// the retransmission, behind it in the queue, will be handled as a new
// request; the server is so far behind that even a refusal costs more
// than it can spare. Discarding earlier would itself cause
// retransmissions.
const staleWait = 500 * time.Millisecond

// queued is told, for each datagram read from the UDP listener, how long
// it waited in the socket's receive queue, and says whether to discard it
// unread. Requests waiting there are invisible to the in-flight count:
// with a large receive buffer a server past saturation would answer them
// late, after the clients' first retransmission, instead of refusing them.
//
// As in RED or PIE, but on the time waited (as CoDel): below half of
// limit every request is admitted; from there to limit a share of new
// requests, rising linearly to all, is refused with 503. A refusal costs a
// fraction of a served request, so the queue settles where the server
// serves what it can and refuses the rest, rather than switching between
// serving all and refusing all. Past staleWait requests are
// discarded unanswered (responses, ACK and CANCEL never: they end
// transactions), which costs only their read. Keyed to time rather than to
// the queue's bytes, a short stall of the process at a high but
// sustainable rate refuses little or nothing.
func (g *loadGuard) queued(wait, limit time.Duration, datagram []byte) (discard bool) {
	g.lastWait.Store(int64(wait))
	var share uint32
	switch low := limit / 2; {
	case wait <= low:
	case wait >= limit:
		share = shareAll
	default:
		share = uint32(int64(wait-low) * shareAll / int64(limit-low))
	}
	// Written only when it changes: admit reads it for every request.
	if was := g.refuseShare.Load(); was != share {
		g.refuseShare.Store(share)
		if was == 0 {
			g.trips.Add(1)
		}
	}
	if wait > staleWait && discardable(datagram) {
		g.stale.Add(1)
		return true
	}
	return false
}

// discardable reports whether a datagram may be dropped unread under
// overload: any request but ACK and CANCEL. Responses, keep-alives and
// anything else go on to sipgo as they are.
func discardable(datagram []byte) bool {
	sp := bytes.IndexByte(datagram, ' ')
	if sp <= 0 || bytes.HasPrefix(datagram, []byte("SIP/")) {
		return false
	}
	method := datagram[:sp]
	return !bytes.Equal(method, []byte("ACK")) && !bytes.Equal(method, []byte("CANCEL"))
}
