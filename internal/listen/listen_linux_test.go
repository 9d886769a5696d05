package listen

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestClientFirstWaitsForBytes checks that Accept hands over a connection
// only once its client has sent something, with those bytes readable at
// once, and that a client that only connects is not handed over.
func TestClientFirstWaitsForBytes(t *testing.T) {
	ln, err := ClientFirst(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	talker, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer talker.Close()
	select {
	case c := <-accepted:
		c.Close()
		t.Fatalf("accepted %v before its client sent anything", c.RemoteAddr())
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := talker.Write([]byte("<stream>")); err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	select {
	case c = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection that sent bytes was not accepted")
	}
	defer c.Close()
	if c.RemoteAddr().String() != talker.LocalAddr().String() {
		t.Fatalf("accepted %v, want the client that sent (%v)", c.RemoteAddr(), talker.LocalAddr())
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "<stream>" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}
