package sip

import (
	"context"
	"testing"
	"time"
)

func TestRawACKCallID(t *testing.T) {
	for i, tc := range []struct {
		in, want string
		ok       bool
	}{
		0: {in: "ACK sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCall-ID: abc@h \r\n\r\n", want: "abc@h", ok: true},
		1: {in: "ACK sip:b@h SIP/2.0\r\ni:x1\r\n\r\n", want: "x1", ok: true},
		2: {in: "ACK sip:b@h SIP/2.0\ncall-id :  y\n\n", want: "y", ok: true},
		3: {in: "BYE sip:b@h SIP/2.0\r\nCall-ID: abc\r\n\r\n"},
		4: {in: "ACK sip:b@h SIP/2.0\r\nVia: x\r\n\r\nCall-ID: body\r\n"},
		5: {in: "ACK sip:b@h SIP/2.0\r\nCall-ID:\r\n\r\n"},
		6: {in: "ACK"},
		7: {in: "ACK sip:b@h SIP/2.0\r\nIn-Reply-To: z\r\nCall-ID: c", want: "c", ok: true},
	} {
		got, ok := rawACKCallID([]byte(tc.in))
		if ok != tc.ok || got != tc.want {
			t.Errorf("%d: got %q %v, want %q %v", i, got, ok, tc.want, tc.ok)
		}
	}
}

func TestACKOrder(t *testing.T) {
	now := time.Now()
	o := newACKOrder(func() time.Time { return now })
	ctx := context.Background()

	start := time.Now()
	o.wait(ctx, "none") // nothing pending: at once
	if d := time.Since(start); d > ackWait/2 {
		t.Fatalf("wait without a pending ACK took %s", d)
	}

	o.arrived("c1")
	o.arrived("c1")
	released := make(chan struct{})
	go func() { o.wait(ctx, "c1"); close(released) }()
	o.handled("c1")
	select {
	case <-released:
		t.Fatal("released with one of two ACKs pending")
	case <-time.After(20 * time.Millisecond):
	}
	o.handled("c1")
	select {
	case <-released:
	case <-time.After(ackWait / 2):
		t.Fatal("not released once both ACKs were handled")
	}

	o.arrived("c2") // never handled (absorbed by an INVITE transaction)
	start = time.Now()
	o.wait(ctx, "c2")
	if d := time.Since(start); d < ackWait/2 || d > 10*ackWait {
		t.Fatalf("wait for a lost ACK took %s, want about %s", d, ackWait)
	}
	now = now.Add(ackForget)
	start = time.Now()
	o.wait(ctx, "c2") // forgotten after ackForget
	if d := time.Since(start); d > ackWait/2 {
		t.Fatalf("wait for a forgotten ACK took %s", d)
	}
	o.handled("c2") // late: harmless
	if len(o.m) != 0 {
		t.Fatalf("entries left: %v", o.m)
	}
}
