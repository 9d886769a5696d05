package main

import (
	"cmp"
	"slices"
	"sort"
	"sync"
	"time"
)

// maxSamples bounds the latency samples one recorder keeps; past it, further
// operations are counted but their latencies are not kept.
const maxSamples = 2_000_000

// maxErrorKinds bounds the distinct error texts one recorder keeps.
const maxErrorKinds = 16

// recorder counts successes and failures of one phase and keeps their
// latencies. It is safe for concurrent use.
type recorder struct {
	mu      sync.Mutex
	ok      int64
	failed  int64
	samples []time.Duration
	errs    map[string]int64
}

func newRecorder() *recorder { return &recorder{errs: make(map[string]int64)} }

// success records one successful operation that took d.
func (r *recorder) success(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ok++
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, d)
	}
}

// failure records one failed operation.
func (r *recorder) failure(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	if _, ok := r.errs[msg]; ok || len(r.errs) < maxErrorKinds {
		r.errs[msg]++
	} else {
		r.errs["(other errors)"]++
	}
}

// counts returns the successes and failures so far.
func (r *recorder) counts() (ok, failed int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok, r.failed
}

// summary returns the latency summary and a copy of the error counts.
func (r *recorder) summary() (Latency, []ErrorCount) {
	r.mu.Lock()
	s := slices.Clone(r.samples)
	errs := make([]ErrorCount, 0, len(r.errs))
	for k, v := range r.errs {
		errs = append(errs, ErrorCount{Error: k, Count: v})
	}
	r.mu.Unlock()
	sort.Slice(errs, func(i, j int) bool {
		return cmp.Or(cmp.Compare(errs[j].Count, errs[i].Count), cmp.Compare(errs[i].Error, errs[j].Error)) < 0
	})
	return summarize(s), errs
}

// Latency summarises latency samples in milliseconds.
type Latency struct {
	// Samples is how many latencies the figures are computed from.
	Samples int `json:"samples"`
	// P50, P90, P99 are nearest-rank percentiles; Max and Mean as named.
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// ErrorCount is one distinct error and how often it happened.
type ErrorCount struct {
	Error string `json:"error"`
	Count int64  `json:"count"`
}

// summarize sorts samples in place and computes the summary.
func summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	return Latency{
		Samples: len(samples),
		P50:     ms(percentile(samples, 50)),
		P90:     ms(percentile(samples, 90)),
		P99:     ms(percentile(samples, 99)),
		Max:     ms(samples[len(samples)-1]),
		Mean:    ms(sum / time.Duration(len(samples))),
	}
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted samples: the smallest sample with at least p% of the samples at or
// below it. It returns 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	// rank = ceil(p/100 * n), computed in integers to avoid float error on
	// exact boundaries (p=50, n=10 is rank 5).
	num := int64(p*1000) * int64(n)
	rank := int(num / 100_000)
	if num%100_000 != 0 {
		rank++
	}
	rank = max(rank, 1)
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
