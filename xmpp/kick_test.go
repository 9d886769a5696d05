package xmpp

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestKickOnlyTheStaleConnection checks the resumption take-over's kick:
// it stops the reader of the connection that was attached when the
// resumption was offered, and never the resuming connection, which a
// detached session may already have taken (a kick of it ended the resumed
// stream right after <resumed/>: TestStreamResumption failed that way
// under load).
func TestKickOnlyTheStaleConnection(t *testing.T) {
	pipe := func() (*transport, net.Conn) {
		a, b := net.Pipe()
		t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
		return &transport{conn: a}, b
	}
	stale, _ := pipe()
	fresh, freshPeer := pipe()

	s := &session{}
	s.t = fresh // the session took the resuming connection first
	s.kick(stale)
	if s.kicked.Load() {
		t.Fatal("kicking a connection no longer attached marked the session kicked")
	}
	go func() { _, _ = freshPeer.Write([]byte("x")) }()
	_ = fresh.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := fresh.conn.Read(make([]byte, 1)); err != nil {
		t.Fatalf("the resuming connection was disturbed: %v", err)
	}

	s.kick(fresh) // now the attached one is the stale one
	if !s.kicked.Load() {
		t.Fatal("kicking the attached connection did not mark the session kicked")
	}
	if _, err := fresh.conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the attached connection's reader was not stopped: %v", err)
	}

	s.kicked.Store(false)
	s.t = nil
	s.kick(nil) // nothing attached: nothing to do
	if s.kicked.Load() {
		t.Fatal("a kick with nothing attached marked the session kicked")
	}
}
