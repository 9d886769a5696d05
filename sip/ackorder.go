package sip

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// ackOrder keeps an ACK and the in-dialog request a UA sends right after
// it in order through the proxy. sipgo hands every message to its own
// goroutine, so a BYE sent a moment after the ACK of a 2xx could be
// forwarded first, and the callee, which has not seen its dialog
// confirmed yet, refuses or aborts it (seen with baresip calling sipp:
// "unexpected BYE"). The read filter, which runs in arrival order on
// the listener's (or connection's) reading goroutine, counts each ACK
// as pending under its Call-ID; the ACK's handler marks it done once
// forwarded or dropped; an in-dialog request of the same Call-ID waits
// for the ACKs that arrived before it, at most ackWait: an ACK sipgo
// absorbs into its own INVITE transaction (the ACK of a non-2xx over
// UDP) never reaches the handler, and such entries are also forgotten
// after ackForget.
type ackOrder struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]*pendingACKs
}

type pendingACKs struct {
	n     int
	since time.Time
	done  chan struct{} // closed when n drops to 0 or the entry is forgotten
}

const (
	// ackWait bounds how long an in-dialog request waits for an ACK that
	// arrived before it.
	ackWait = 200 * time.Millisecond
	// ackForget drops a pending entry whose ACK never reached a handler.
	ackForget = 2 * time.Second
	// maxPendingACKs bounds the map; beyond it old entries are dropped.
	maxPendingACKs = 10000
)

func newACKOrder(now func() time.Time) *ackOrder {
	return &ackOrder{now: now, m: make(map[string]*pendingACKs)}
}

// arrived records an ACK read from the network, before it is parsed.
func (o *ackOrder) arrived(callID string) {
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.m) >= maxPendingACKs {
		for k, e := range o.m {
			if now.Sub(e.since) >= ackForget {
				close(e.done)
				delete(o.m, k)
			}
		}
		if len(o.m) >= maxPendingACKs {
			return // under a flood the order guarantee lapses, nothing else
		}
	}
	e := o.m[callID]
	if e == nil {
		e = &pendingACKs{done: make(chan struct{})}
		o.m[callID] = e
	}
	e.n++
	e.since = now
}

// handled marks one ACK of callID as forwarded or dropped.
func (o *ackOrder) handled(callID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.m[callID]
	if e == nil {
		return
	}
	if e.n--; e.n <= 0 {
		close(e.done)
		delete(o.m, callID)
	}
}

// wait returns once no ACK of callID that arrived before is pending, after
// at most ackWait, or when ctx ends.
func (o *ackOrder) wait(ctx context.Context, callID string) {
	o.mu.Lock()
	e := o.m[callID]
	if e != nil && o.now().Sub(e.since) >= ackForget {
		close(e.done)
		delete(o.m, callID)
		e = nil
	}
	o.mu.Unlock()
	if e == nil {
		return
	}
	t := time.NewTimer(ackWait)
	defer t.Stop()
	select {
	case <-e.done:
	case <-t.C:
	case <-ctx.Done():
	}
}

// rawACKCallID returns the Call-ID of a raw message when it is an ACK
// request, without parsing the rest: the header named Call-ID or i
// (compact form), any case, up to the blank line.
func rawACKCallID(data []byte) (string, bool) {
	if !bytes.HasPrefix(data, []byte("ACK ")) {
		return "", false
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return "", false
		}
		data = data[i+1:]
		line := data
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return "", false // end of the headers
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		if bytes.EqualFold(name, []byte("Call-ID")) || bytes.EqualFold(name, []byte("i")) {
			if v := bytes.TrimSpace(line[colon+1:]); len(v) > 0 {
				return string(v), true
			}
			return "", false
		}
	}
	return "", false
}
