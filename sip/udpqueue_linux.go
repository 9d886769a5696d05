package sip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// queueTimedConn is the UDP listener as sipgo reads it: each datagram is
// read with the kernel's time of arrival (SO_TIMESTAMPNS), and the time it
// waited in the socket's receive queue goes to the load guard
// (loadGuard.queued), which may discard it. sipgo reads a listener from
// one goroutine; the mutex only keeps the control-message buffer safe if
// that changes.
type queueTimedConn struct {
	*net.UDPConn
	guard *loadGuard
	limit time.Duration

	mu  sync.Mutex
	oob []byte
}

// newQueueTimedConn turns on receive timestamps for uc. An error means
// the guard cannot work on this socket or system; uc is then served as it
// is.
func newQueueTimedConn(uc *net.UDPConn, g *loadGuard, limit time.Duration) (*queueTimedConn, error) {
	if unix.SizeofCmsghdr != 16 {
		return nil, errors.New("udp queue delay: receive timestamps are only read on 64-bit systems")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("udp queue delay: %w", err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return nil, fmt.Errorf("udp queue delay: %w", err)
	}
	if serr != nil {
		return nil, fmt.Errorf("udp queue delay: SO_TIMESTAMPNS: %w", serr)
	}
	return &queueTimedConn{UDPConn: uc, guard: g, limit: limit, oob: make([]byte, 64)}, nil
}

// ReadFrom reads one datagram and reports how long it waited; a request
// the guard finds stale is discarded and the next datagram read.
func (c *queueTimedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		c.mu.Lock()
		n, oobn, _, addr, err := c.ReadMsgUDP(b, c.oob)
		var at time.Time
		var stamped bool
		if err == nil {
			at, stamped = receiveTime(c.oob[:oobn])
		}
		c.mu.Unlock()
		if err != nil {
			return n, nil, err
		}
		if stamped && c.guard.queued(time.Since(at), c.limit, b[:n]) {
			continue
		}
		return n, addr, nil
	}
}

// receiveTime finds the SCM_TIMESTAMPNS control message in oob, as the
// kernel writes it on a 64-bit system: a 16-byte header (length, level,
// type) and a struct timespec of two 64-bit fields.
func receiveTime(oob []byte) (time.Time, bool) {
	const hdr, ts = 16, 16
	for len(oob) >= hdr {
		l := binary.NativeEndian.Uint64(oob)
		level := int32(binary.NativeEndian.Uint32(oob[8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[12:]))
		if l < hdr || l > uint64(len(oob)) {
			return time.Time{}, false
		}
		if level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS && l >= hdr+ts {
			sec := int64(binary.NativeEndian.Uint64(oob[hdr:]))
			nsec := int64(binary.NativeEndian.Uint64(oob[hdr+8:]))
			if nsec < 0 || nsec >= int64(time.Second) {
				return time.Time{}, false
			}
			return time.Unix(sec, nsec), true
		}
		next := (l + 7) &^ 7 // CMSG_ALIGN
		if next >= uint64(len(oob)) {
			break
		}
		oob = oob[next:]
	}
	return time.Time{}, false
}
