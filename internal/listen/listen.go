// Package listen opens the TCP listeners of protocols where the client
// speaks first: XMPP's client (STARTTLS and direct TLS) and component
// listeners use it.
package listen

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"time"
)

// DeferAccept is how long the kernel keeps a connection whose client has
// sent nothing before it hands it to Accept anyway (Linux rounds it to its
// SYN-ACK retransmission schedule).
const DeferAccept = 10 * time.Second

// ClientFirst listens on a TCP address for a protocol whose client sends
// first. On Linux, Accept returns a connection only once its first bytes
// have come (TCP_DEFER_ACCEPT), so the server's first read finds them
// instead of waiting in the poller: one wake-up and one empty read fewer
// per connection, and a connection that never says anything costs no
// goroutine until DeferAccept has passed. Elsewhere it is a plain
// listener.
func ClientFirst(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = deferAccept(fd, DeferAccept) }); err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		if serr != nil {
			return fmt.Errorf("listen %s: deferred accept: %w", addr, serr)
		}
		return nil
	}}
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}
