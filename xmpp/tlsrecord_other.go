//go:build !unix

package xmpp

import "syscall"

// waitReadable is not available here: the caller reads instead.
func waitReadable(syscall.RawConn) bool { return false }

// peekReady is not available here: nothing is ready without a read.
func peekReady(uintptr) bool { return false }
