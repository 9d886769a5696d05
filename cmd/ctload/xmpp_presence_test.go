package main

import (
	"slices"
	"testing"
	"time"
)

func TestPresenceGroups(t *testing.T) {
	g := presenceGroups{contacts: 2, sessions: 6}
	for i, want := range [][]int{{1, 2}, {0, 2}, {0, 1}, {4, 5}, {3, 5}, {3, 4}} {
		if got := g.peers(i); !slices.Equal(got, want) {
			t.Errorf("peers(%d) = %v, want %v", i, got, want)
		}
	}
}

func TestPresenceTracker(t *testing.T) {
	g := presenceGroups{contacts: 2, sessions: 3, index: map[string]int{"a@x": 0, "b@x": 1, "c@x": 2}}
	tr := &presenceTracker{g: g, seen: []map[int]bool{{}, {}, {}}, inflight: map[string]*change{}}
	now := time.Now()
	for i, from := range []string{"b@x", "c@x"} {
		tr.on(0)(presenceEvent{From: from, At: now})
		tr.on(i + 1)(presenceEvent{From: "a@x", At: now})
	}
	tr.on(0)(presenceEvent{From: "a@x", At: now})           // own presence: ignored
	tr.on(0)(presenceEvent{From: "nobody@x", At: now})      // stranger: ignored
	tr.on(1)(presenceEvent{From: "c@x", Type: "subscribe"}) // not available
	if got := tr.complete(); got != 1 {
		t.Errorf("complete = %d, want 1 (only session 0 saw both contacts)", got)
	}
	rec := newRecorder()
	tr.rec = rec
	tr.inflight["ctp7"] = &change{at: now, pending: 2}
	if tr.outstanding() != 2 {
		t.Errorf("outstanding %d", tr.outstanding())
	}
	tr.on(1)(presenceEvent{From: "a@x", Status: "ctp7", At: now.Add(3 * time.Millisecond)})
	tr.on(2)(presenceEvent{From: "a@x", Status: "ctp7", At: now.Add(5 * time.Millisecond)})
	tr.on(2)(presenceEvent{From: "a@x", Status: "ctp7", At: now.Add(9 * time.Millisecond)}) // duplicate after done
	if ok, _ := rec.counts(); ok != 2 || tr.outstanding() != 0 {
		t.Errorf("ok=%d outstanding=%d", ok, tr.outstanding())
	}
	if lat, _ := rec.summary(); lat.Max != 5 {
		t.Errorf("latency %+v", lat)
	}
}

func TestPresenceTrackerAsksBackOnce(t *testing.T) {
	g := presenceGroups{contacts: 1, sessions: 2, index: map[string]int{"a@x": 0, "b@x": 1}}
	tr := &presenceTracker{g: g, asked: []map[int]bool{{}, {}}}
	back := tr.back(1)
	if !back("a@x") || back("a@x") || back("b@x") || back("stranger@x") {
		t.Error("back should be true exactly once, for a known contact other than oneself")
	}
}
