package main

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func durs(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	one100 := make([]time.Duration, 100)
	for i := range one100 {
		one100[i] = time.Duration(i+1) * time.Millisecond
	}
	for i, tc := range [...]struct {
		s    []time.Duration
		p    float64
		want time.Duration
	}{
		0:  {nil, 50, 0},
		1:  {durs(7), 50, 7 * time.Millisecond},
		2:  {durs(7), 99, 7 * time.Millisecond},
		3:  {durs(1, 2), 50, 1 * time.Millisecond},
		4:  {durs(1, 2), 51, 2 * time.Millisecond},
		5:  {durs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 50, 5 * time.Millisecond},
		6:  {durs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		7:  {durs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		8:  {one100, 99, 99 * time.Millisecond},
		9:  {one100, 99.9, 100 * time.Millisecond},
		10: {one100, 1, 1 * time.Millisecond},
		11: {one100, 0, 1 * time.Millisecond},
		12: {one100, 100, 100 * time.Millisecond},
		13: {one100, 50, 50 * time.Millisecond},
	} {
		if got := percentile(tc.s, tc.p); got != tc.want {
			t.Errorf("%d: percentile(n=%d, %v) = %v, want %v", i, len(tc.s), tc.p, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := summarize(durs(10, 1, 4, 3, 2))
	if s.Samples != 5 || s.P50 != 3 || s.Max != 10 || s.Mean != 4 || s.P99 != 10 {
		t.Errorf("summary %+v", s)
	}
	if z := summarize(nil); z != (Latency{}) {
		t.Errorf("empty summary %+v", z)
	}
}

func TestRecorderConcurrentAndBoundedErrors(t *testing.T) {
	r := newRecorder()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				r.success(time.Duration(i) * time.Microsecond)
				if i%10 == 0 {
					r.failure(fmt.Errorf("kind %d: %w", w*100+i, errors.New("x")))
				}
			}
		})
	}
	wg.Wait()
	ok, failed := r.counts()
	if ok != 800 || failed != 80 {
		t.Fatalf("ok=%d failed=%d", ok, failed)
	}
	lat, errs := r.summary()
	if lat.Samples != 800 {
		t.Errorf("samples %d", lat.Samples)
	}
	if len(errs) > maxErrorKinds+1 {
		t.Errorf("%d error kinds kept, bound is %d+1", len(errs), maxErrorKinds)
	}
	var total int64
	for _, e := range errs {
		total += e.Count
	}
	if total != 80 {
		t.Errorf("error counts add to %d, want 80", total)
	}
}
