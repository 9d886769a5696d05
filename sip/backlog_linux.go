package sip

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketBacklog returns the bytes waiting in a socket's receive queue
// (the kernel's SK_MEMINFO_RMEM_ALLOC, what `ss -m` shows as r): the
// first of the SO_MEMINFO counters, read as the first half of 8 bytes.
func socketBacklog(sc syscall.Conn) (int, error) {
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("socket backlog: %w", err)
	}
	var v uint64
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		v, gerr = unix.GetsockoptUint64(int(fd), unix.SOL_SOCKET, unix.SO_MEMINFO)
	}); err != nil {
		return 0, fmt.Errorf("socket backlog: %w", err)
	}
	if gerr != nil {
		return 0, fmt.Errorf("socket backlog: SO_MEMINFO: %w", gerr)
	}
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], v)
	return int(binary.NativeEndian.Uint32(b[:4])), nil
}
