package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoopBoundedByCount(t *testing.T) {
	var calls atomic.Int64
	seen := make([]atomic.Bool, 100)
	n := loop{n: 100, workers: 7, deadline: time.Now().Add(10 * time.Second)}.run(context.Background(), func(_ context.Context, _, i int) {
		calls.Add(1)
		if seen[i].Swap(true) {
			t.Errorf("operation %d run twice", i)
		}
	})
	if n != 100 || calls.Load() != 100 {
		t.Errorf("started %d, called %d, want 100", n, calls.Load())
	}
}

func TestLoopBoundedByTime(t *testing.T) {
	start := time.Now()
	n := loop{n: 1_000_000, workers: 2, deadline: time.Now().Add(200 * time.Millisecond)}.run(context.Background(), func(context.Context, int, int) {
		time.Sleep(10 * time.Millisecond)
	})
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("ran %s past a 200 ms deadline", el)
	}
	if n < 2 || n > 100 {
		t.Errorf("started %d", n)
	}
}

func TestLoopPaced(t *testing.T) {
	start := time.Now()
	n := loop{n: 11, workers: 4, rate: 50, deadline: time.Now().Add(5 * time.Second)}.run(context.Background(), func(context.Context, int, int) {})
	el := time.Since(start)
	// 11 operations at 50/s: the last starts at 200 ms.
	if n != 11 || el < 190*time.Millisecond || el > 2*time.Second {
		t.Errorf("started %d in %s, want 11 in about 200 ms", n, el)
	}
}

func TestLoopCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n := (loop{n: 10, workers: 2, deadline: time.Now().Add(time.Second)}).run(ctx, func(context.Context, int, int) {}); n != 0 {
		t.Errorf("started %d after cancel", n)
	}
}
