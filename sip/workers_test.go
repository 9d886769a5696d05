package sip

import (
	"context"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// TestHandlerPool: a handler runs once and run returns after it; with
// every worker held up (or none started) handlers run on the caller's
// goroutine instead of waiting; after ctx ends the workers are gone and
// handlers still run.
func TestHandlerPool(t *testing.T) {
	req := sipmsg.NewRequest(sipmsg.OPTIONS, sipmsg.Uri{Scheme: "sip", Host: "example.com"})

	p := newHandlerPool()
	ran := 0
	p.run(func(r *sipmsg.Request, _ sipmsg.ServerTransaction) {
		if r != req {
			t.Errorf("handler got %p, want %p", r, req)
		}
		ran++
	}, req, nil)
	if ran != 1 {
		t.Fatalf("without workers: ran %d times, want 1", ran)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	p.start(ctx, 1, &wg)
	// The one worker is held up by a handler that waits for release.
	release, holding := make(chan struct{}), make(chan struct{})
	go p.run(func(*sipmsg.Request, sipmsg.ServerTransaction) { close(holding); <-release }, req, nil)
	<-holding
	done := make(chan struct{})
	go func() {
		p.run(func(*sipmsg.Request, sipmsg.ServerTransaction) {}, req, nil)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a handler waited for the busy worker instead of running at once")
	}
	close(release)

	// An idle worker takes the next one, and run waits for it to finish.
	finished := false
	for range 3 {
		p.run(func(*sipmsg.Request, sipmsg.ServerTransaction) { time.Sleep(time.Millisecond); finished = true }, req, nil)
		if !finished {
			t.Fatal("run returned before its handler did")
		}
		finished = false
	}

	cancel()
	wg.Wait()
	ran = 0
	p.run(func(*sipmsg.Request, sipmsg.ServerTransaction) { ran++ }, req, nil)
	if ran != 1 {
		t.Fatalf("after the workers stopped: ran %d times, want 1", ran)
	}
}
