//go:build !unix

package xmpp

import "syscall"

// waitReadable is not available here: the caller reads instead.
func waitReadable(syscall.RawConn, func(uintptr) bool) bool { return false }

// readNow is not available here: nothing is ready without a read.
func readNow(uintptr, []byte) (int, bool, error) { return 0, false, nil }
