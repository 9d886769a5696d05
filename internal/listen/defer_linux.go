package listen

import (
	"syscall"
	"time"
)

// deferAccept sets TCP_DEFER_ACCEPT on the listening socket fd.
func deferAccept(fd uintptr, d time.Duration) error {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, int(d/time.Second))
}
