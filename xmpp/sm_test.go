package xmpp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestSMCountsWrap checks the XEP-0198 counts across 2^32: an <a/> or
// <resume/> h is too high only when it is ahead of what was sent, in
// serial-number arithmetic.
func TestSMCountsWrap(t *testing.T) {
	for i, tc := range []struct {
		h, sent uint32
		high    bool
	}{
		{0, 0, false},
		{1, 0, true},
		{3, 5, false},
		{6, 5, true},
		{0, 0xFFFFFFFF, true},           // one past a count that wrapped
		{0xFFFFFFFF, 1, false},          // two behind, across the wrap
		{1 << 31, 0, false},             // half the space away: behind
		{1<<31 - 1, 0, true},            // just under half ahead
		{0xFFFFFFFF, 0xFFFFFFFF, false}, // everything acknowledged
	} {
		if got := tooHigh(tc.h, tc.sent); got != tc.high {
			t.Errorf("%d: tooHigh(%d, %d) = %v", i, tc.h, tc.sent, got)
		}
	}

	// Three stanzas sent around the wrap: 0xFFFFFFFF, 0 and 1.
	m := &smState{outOn: true, hOut: 1, hIn: 7}
	for _, seq := range []uint32{0xFFFFFFFF, 0, 1} {
		m.unacked = append(m.unacked, smEntry{seq: seq})
	}
	if f := m.checkResume(2); !bytes.Equal(f, []byte("<failed xmlns='urn:xmpp:sm:3' h='7'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"+
		"<handled-count-too-high xmlns='urn:xmpp:sm:3' h='2' send-count='1'/></failed>")) {
		t.Fatalf("resume h=2: %s", f)
	}
	if f := m.checkResume(0xFFFFFFFF); f != nil {
		t.Fatalf("resume h=2^32-1: %s", f)
	}
	var se *streamError
	if err := m.ack(2); !errors.As(err, &se) || se.cond != condUndefined || len(m.unacked) != 3 {
		t.Fatalf("ack h=2: %v, %d left", err, len(m.unacked))
	}
	if err := m.ack(0); err != nil || len(m.unacked) != 1 || m.unacked[0].seq != 1 {
		t.Fatalf("ack h=0: %v, %+v", err, m.unacked)
	}
	out := string(streamErrorFor(condUndefined, errAckTooHigh(5, 1)))
	if !strings.HasPrefix(out, "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text ") ||
		!strings.HasSuffix(out, "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='5' send-count='1'/></stream:error></stream:stream>") {
		t.Fatalf("stream error: %s", out)
	}
}

// TestRefuseTooHigh: a session that finds a handed-over resumption's h
// beyond what it sent releases the connection with the <failed/>, and
// takes one whose h it did send.
func TestRefuseTooHigh(t *testing.T) {
	s := &session{}
	s.sm.outOn, s.sm.hOut, s.sm.hIn = true, 2, 4
	ho := &handover{h: 3, released: make(chan struct{})}
	if !s.refuseTooHigh(ho) || !strings.Contains(string(ho.failed), "h='3' send-count='2'") {
		t.Fatalf("h=3 of 2: %s", ho.failed)
	}
	select {
	case <-ho.released:
	default:
		t.Fatal("the refused connection was not released")
	}
	taken := &handover{h: 2, released: make(chan struct{})}
	if s.refuseTooHigh(taken) || taken.failed != nil {
		t.Fatalf("h=2 of 2 refused: %s", taken.failed)
	}
}
