//go:build !linux

package xmpp

import "errors"

// errNoPoller reports that sockets cannot be watched without a goroutine.
var errNoPoller = errors.New("no idle poller on this platform")

// idlePoller is Linux only (epoll); elsewhere a quiet session keeps one
// goroutine waiting for its socket.
type idlePoller struct{}

func newIdlePoller() *idlePoller { return nil }

func (p *idlePoller) add(int, *recordConn) (uint64, error) { return 0, errNoPoller }

func (p *idlePoller) remove(int, uint64) {}
