//go:build unix

package xmpp

import (
	"errors"
	"syscall"
)

// waitReadable blocks in the runtime's network poller until ready, called
// with the socket's descriptor when it may be readable, reports that it
// has found bytes, the end of the stream or an error, or until the read
// deadline passes. It returns true when it waited, whatever the outcome:
// the caller's next read reports an error or a deadline.
func waitReadable(raw syscall.RawConn, ready func(fd uintptr) bool) bool {
	_ = raw.Read(ready)
	return true
}

// readNow reads what the socket fd holds into b, without waiting. ready is
// false when the socket has nothing; otherwise n bytes came, or the stream
// ended (n 0, err nil), or err is the socket's error.
func readNow(fd uintptr, b []byte) (n int, ready bool, err error) {
	for {
		n, err := syscall.Read(int(fd), b)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK):
			return 0, false, nil
		}
		return max(n, 0), true, err
	}
}
