package main

import (
	"bytes"
	"io"
	"testing"
)

// TestHeldConn checks that what a raw login writes leaves in one write
// when it next reads, in order, and that Close sends what is held.
func TestHeldConn(t *testing.T) {
	cc, sc := tcpPair(t)
	hc := &heldConn{Conn: cc}
	for _, s := range []string{"<a/>", "<b/>", "<c/>"} {
		if _, err := io.WriteString(hc, s); err != nil {
			t.Fatal(err)
		}
	}
	if hc.writes != 0 {
		t.Fatalf("%d writes before the read", hc.writes)
	}
	go func() {
		buf := make([]byte, 64)
		n, _ := io.ReadAtLeast(sc, buf, 12)
		_, _ = sc.Write(bytes.ToUpper(buf[:n]))
	}()
	got := make([]byte, 12)
	if _, err := io.ReadFull(hc, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != "<A/><B/><C/>" || hc.writes != 1 {
		t.Fatalf("read %q after %d writes, want <A/><B/><C/> after 1", got, hc.writes)
	}
	if _, err := io.WriteString(hc, "</end>"); err != nil {
		t.Fatal(err)
	}
	if err := hc.Close(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(sc)
	if err != nil || string(rest) != "</end>" || hc.writes != 2 {
		t.Fatalf("after close: %q %v, %d writes", rest, err, hc.writes)
	}
}
