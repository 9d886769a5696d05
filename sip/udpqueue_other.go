//go:build !linux

package sip

import (
	"errors"
	"net"
	"time"
)

// queueTimedConn is only built on Linux (SO_TIMESTAMPNS); elsewhere the
// UDP queue-delay guard stays off.
type queueTimedConn struct{ *net.UDPConn }

func newQueueTimedConn(*net.UDPConn, *loadGuard, time.Duration) (*queueTimedConn, error) {
	return nil, errors.New("udp queue delay: receive timestamps are not read on this system")
}
