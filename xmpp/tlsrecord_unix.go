//go:build unix

package xmpp

import (
	"errors"
	"syscall"
)

// waitReadable blocks in the runtime's network poller until the socket
// has a byte to read, has ended or failed, or its read deadline passes,
// without reading anything (a one-byte MSG_PEEK checks that the readiness
// is real). It returns true when it waited, whatever the outcome: the
// caller's next read reports an error or a deadline.
func waitReadable(raw syscall.RawConn) bool {
	_ = raw.Read(peekReady)
	return true
}

// peekReady reports whether a read of the socket fd would return at once:
// it has bytes, its end or an error (a one-byte MSG_PEEK, which reads
// nothing).
func peekReady(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		// Not ready (false) only while the socket has nothing; bytes, the
		// end of the stream or an error are for the next read.
		return !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK)
	}
}
