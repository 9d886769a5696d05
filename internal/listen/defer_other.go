//go:build !linux

package listen

import "time"

// deferAccept does nothing where TCP_DEFER_ACCEPT does not exist.
func deferAccept(uintptr, time.Duration) error { return nil }
