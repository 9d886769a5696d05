package main

import (
	"fmt"
	"net"
	"time"
)

// maxHeld bounds what a heldConn keeps before it writes anyway.
const maxHeld = 64 << 10

// heldConn is the TCP connection under a raw login. It holds what is
// written until the client next reads (or closes), then sends it in one
// write: the bytes, their order and every wait for the server are the
// login's own, only the system calls are fewer. The TLS client's
// Finished goes out with the stream header behind it, the initial
// presence with the end of the stream. A login is one goroutine, reading
// and writing in turn, so nothing is held while that goroutine waits.
type heldConn struct {
	net.Conn
	held []byte
	// writes counts the writes made, for tests.
	writes int
}

// Write keeps p for the next flush.
func (c *heldConn) Write(p []byte) (int, error) {
	c.held = append(c.held, p...)
	if len(c.held) >= maxHeld {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Read sends what is held, then reads.
func (c *heldConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// Close sends what is held (best effort), then closes. The write may take
// up to closeWait even when a write deadline has passed: crypto/tls's
// Close writes its close_notify, then sets the deadline to now.
func (c *heldConn) Close() error {
	if len(c.held) > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(closeWait))
	}
	_ = c.flush()
	return c.Conn.Close()
}

// flush writes what is held in one write.
func (c *heldConn) flush() error {
	if len(c.held) == 0 {
		return nil
	}
	b := c.held
	c.held = c.held[:0]
	c.writes++
	if _, err := c.Conn.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
