//go:build linux

package xmpp

import (
	"errors"
	"sync"
	"syscall"
)

// idlePoller watches the sockets of parked sessions with an epoll instance
// of its own, so that a quiet TLS session needs no goroutine at all: when
// its socket becomes readable (or hangs up, or fails), the poller calls
// the session back and a reader goroutine is started again. The runtime's
// own poller cannot be asked without a goroutine blocked in it, and each
// such goroutine keeps at least a 2 KiB stack in a 32 KiB span shared with
// the short-lived stacks of logins (docs/design/003-xmpp-c2s.md, "What an
// idle session costs").
//
// The poller's goroutine runs while something is watched and ends after a
// second with nothing (closing the epoll descriptor); watch starts it
// again.
type idlePoller struct {
	mu      sync.Mutex
	epfd    int // -1 while no goroutine runs
	next    uint64
	waiting map[uint64]*recordConn
}

func newIdlePoller() *idlePoller {
	return &idlePoller{epfd: -1, waiting: make(map[uint64]*recordConn)}
}

// pollIdle is how long the poller's goroutine waits for events at a time;
// it ends after one such wait with nothing watched.
const pollIdle = 1000 // milliseconds

// add watches fd for rc (one shot: rc.fire is called at most once per
// add). fd must stay open during the call. It returns the watch's id.
func (p *idlePoller) add(fd int, rc *recordConn) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.epfd < 0 {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return 0, err
		}
		p.epfd = epfd
		go p.loop(epfd)
	}
	p.next++
	id := p.next
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return 0, err
	}
	p.waiting[id] = rc
	return id, nil
}

// remove ends a watch. fd must stay open during the call, or be -1 when
// it is closed already (the kernel then dropped it from the epoll set).
func (p *idlePoller) remove(fd int, id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.waiting, id)
	if p.epfd >= 0 && fd >= 0 {
		// After a one-shot event the descriptor is disarmed but still
		// registered: remove it either way, so that it can be added again.
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	}
}

func (p *idlePoller) loop(epfd int) {
	type watched struct {
		rc *recordConn
		id uint64
	}
	events := make([]syscall.EpollEvent, 128)
	var fired []watched
	for {
		n, err := syscall.EpollWait(epfd, events, pollIdle)
		if err != nil { // EINTR; the descriptor cannot fail otherwise
			n = 0
		}
		p.mu.Lock()
		if n == 0 && !errors.Is(err, syscall.EINTR) && len(p.waiting) == 0 {
			p.epfd = -1
			p.mu.Unlock()
			_ = syscall.Close(epfd)
			return
		}
		fired = fired[:0]
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if rc, ok := p.waiting[id]; ok {
				delete(p.waiting, id)
				fired = append(fired, watched{rc, id})
			}
		}
		p.mu.Unlock()
		for i, w := range fired {
			w.rc.fireWatch(w.id)
			fired[i] = watched{}
		}
	}
}
