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

func TestLoopBatchTakesDueOperations(t *testing.T) {
	var seen []int
	maxLen := 0
	n := loop{n: 100, workers: 1, rate: 1e6, deadline: time.Now().Add(5 * time.Second)}.runBatch(context.Background(), 8,
		func(_ context.Context, _ int, is []int) {
			seen = append(seen, is...)
			maxLen = max(maxLen, len(is))
			time.Sleep(time.Millisecond) // the next 8 are due by now
		})
	if n != 100 || len(seen) != 100 {
		t.Fatalf("started %d, saw %d operations, want 100", n, len(seen))
	}
	for i, v := range seen {
		if v != i {
			t.Fatalf("operation %d was %d: want each once, in order", i, v)
		}
	}
	if maxLen != 8 {
		t.Errorf("largest batch %d, want 8 (operations due while the worker slept)", maxLen)
	}
}
