//go:build !linux

package sip

import (
	"errors"
	"syscall"
)

// socketBacklog is only known on Linux (SO_MEMINFO); elsewhere the UDP
// backlog guard stays off.
func socketBacklog(syscall.Conn) (int, error) {
	return 0, errors.New("socket backlog: not available on this system")
}
