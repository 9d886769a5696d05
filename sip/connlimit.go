package sip

import (
	"net"
	"sync"
)

// limitListener closes connections from an address that already has max
// open (limits.connections_per_ip), before sipgo reads from them.
type limitListener struct {
	net.Listener
	max int
	// closed is told the remote address of every connection that closes.
	closed func(raddr string)

	mu    sync.Mutex
	count map[string]int
}

func newLimitListener(ln net.Listener, max int, closed func(raddr string)) *limitListener {
	return &limitListener{Listener: ln, max: max, closed: closed, count: make(map[string]int)}
}

// Accept returns the next connection within the per-address limit.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr())
		l.mu.Lock()
		if l.count[ip] >= l.max {
			l.mu.Unlock()
			_ = c.Close()
			continue
		}
		l.count[ip]++
		l.mu.Unlock()
		raddr := c.RemoteAddr().String()
		return &countedConn{Conn: c, release: func() {
			l.release(ip)
			if l.closed != nil {
				l.closed(raddr)
			}
		}}, nil
	}
}

func (l *limitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count[ip]--; l.count[ip] <= 0 {
		delete(l.count, ip)
	}
}

func remoteIP(a net.Addr) string {
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// countedConn releases its slot once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
