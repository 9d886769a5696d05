package sip

import (
	"context"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestSharedDeadline(t *testing.T) {
	var d sharedDeadline
	t0 := time.Now()
	check := func(ctx context.Context, now time.Time, timeout time.Duration) {
		t.Helper()
		dl, ok := ctx.Deadline()
		if !ok {
			t.Fatal("no deadline")
		}
		if left := dl.Sub(now); left < timeout || left > timeout+deadlineSlack {
			t.Errorf("deadline %v after the request, want within [%v, %v]", left, timeout, timeout+deadlineSlack)
		}
	}
	a := d.context(t0, handlerTimeout)
	check(a, t0, handlerTimeout)
	t1 := t0.Add(deadlineSlack / 2)
	if b := d.context(t1, handlerTimeout); b != a {
		t.Error("a request within the slack got a new context")
	} else {
		check(b, t1, handlerTimeout)
	}
	t2 := t0.Add(deadlineSlack + time.Millisecond)
	c := d.context(t2, handlerTimeout)
	if c == a {
		t.Error("a request past the slack got the old context")
	}
	check(c, t2, handlerTimeout)
	// A shorter timeout than the current context's gets one of its own.
	if e := d.context(t2, time.Second); e == c {
		t.Error("a shorter timeout got a context that ends too late")
	} else {
		check(e, t2, time.Second)
	}
	// The context ends by itself.
	short := d.context(time.Now(), 10*time.Millisecond)
	select {
	case <-short.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the shared context did not end at its deadline")
	}
}

func TestSharedDeadlineConcurrent(t *testing.T) {
	var d sharedDeadline
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				now := time.Now()
				ctx := d.context(now, handlerTimeout)
				if dl, _ := ctx.Deadline(); dl.Sub(now) < handlerTimeout {
					t.Errorf("deadline %v, want at least %v", dl.Sub(now), handlerTimeout)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestHandlerContext checks which requests share a context: MESSAGE and
// REGISTER do; the others (proxied, possibly held open) get one each,
// which ends with the handler.
func TestHandlerContext(t *testing.T) {
	s := &Server{}
	req := func(m sipmsg.RequestMethod) *sipmsg.Request {
		return sipmsg.NewRequest(m, sipmsg.Uri{Scheme: "sip", User: "bob", Host: "example.com"})
	}
	for _, m := range []sipmsg.RequestMethod{sipmsg.MESSAGE, sipmsg.REGISTER} {
		a, cancelA := s.handlerContext(req(m), nil)
		b, cancelB := s.handlerContext(req(m), nil)
		cancelA()
		cancelB()
		if a != b {
			t.Errorf("%s: two requests got contexts of their own", m)
		}
		if a.Err() != nil {
			t.Errorf("%s: the shared context ended with a handler", m)
		}
	}
	for m, timeout := range map[sipmsg.RequestMethod]time.Duration{sipmsg.INVITE: inviteHandlerTimeout, sipmsg.BYE: handlerTimeout, sipmsg.OPTIONS: handlerTimeout} {
		start := time.Now()
		a, cancelA := s.handlerContext(req(m), nil)
		b, cancelB := s.handlerContext(req(m), nil)
		if a == b {
			t.Errorf("%s: two requests shared a context", m)
		}
		if dl, ok := a.Deadline(); !ok || dl.Sub(start) < timeout || dl.Sub(start) > timeout+time.Second {
			t.Errorf("%s: deadline %v from the start, want %v", m, dl.Sub(start), timeout)
		}
		cancelA()
		if a.Err() == nil || b.Err() != nil {
			t.Errorf("%s: cancel ended %v and %v, want only the first", m, a.Err(), b.Err())
		}
		cancelB()
	}
}
