package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what one run measured; it is printed as a table and written as
// JSON with -json.
type Result struct {
	// Scenario is the scenario name; Target the address loaded.
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// Smoke tells a smoke run.
	Smoke bool `json:"smoke"`
	// Count, Concurrency and Rate are the bounds asked for.
	Count       int     `json:"count"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"`
	// Phases are the measured steps; the last is the one the scenario is
	// named for (chat's "message" follows its "login").
	Phases []Phase `json:"phases"`
	// Sessions, for xmpp-idle, is how many sessions were held.
	Sessions int `json:"sessions,omitempty"`
	// Server memory for xmpp-idle (with -pid): VmRSS before the sessions,
	// with them all up, and the difference per session.
	ServerRSSBeforeKB  int64   `json:"server_rss_before_kb,omitempty"`
	ServerRSSAfterKB   int64   `json:"server_rss_after_kb,omitempty"`
	ServerRSSPerSessKB float64 `json:"server_rss_per_session_kb,omitempty"`
	// Notes are remarks on how to read the figures.
	Notes []string `json:"notes,omitempty"`
}

// Phase is one measured step of a run.
type Phase struct {
	// Name is what an operation is: login, message, register.
	Name string `json:"name"`
	// Attempted operations, and how many succeeded or failed.
	Attempted int64 `json:"attempted"`
	OK        int64 `json:"ok"`
	Failed    int64 `json:"failed"`
	// Seconds the phase took; PerSecond = OK / Seconds.
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// Latency of successful operations.
	Latency Latency `json:"latency"`
	// Errors are the distinct failures (bounded).
	Errors []ErrorCount `json:"errors,omitempty"`
	// ServerCPUMicros is the server's user+system CPU time during the
	// phase (with -pid), and ServerCPUPerOp that per successful operation.
	ServerCPUMicros float64 `json:"server_cpu_us,omitempty"`
	ServerCPUPerOp  float64 `json:"server_cpu_us_per_op,omitempty"`
}

// failed reports whether any phase had a failure or the last had no success.
func (r *Result) failed() bool {
	if len(r.Phases) == 0 {
		return true
	}
	for _, p := range r.Phases {
		if p.Failed > 0 {
			return true
		}
	}
	return r.Phases[len(r.Phases)-1].OK == 0
}

// meter measures phases: time, outcomes and, with a pid, server CPU.
type meter struct {
	pid  int
	proc string
}

// phase runs f with a fresh recorder and returns the measured phase.
// attempted is what f reports it started.
func (m meter) phase(name string, f func(rec *recorder) (attempted int64)) (Phase, error) {
	var before procSample
	var err error
	if m.pid > 0 {
		if before, err = sampleProc(m.proc, m.pid); err != nil {
			return Phase{}, fmt.Errorf("phase %s: %w", name, err)
		}
	}
	rec := newRecorder()
	start := time.Now()
	attempted := f(rec)
	el := time.Since(start)
	p := Phase{Name: name, Attempted: attempted, Seconds: el.Seconds()}
	p.OK, p.Failed = rec.counts()
	p.Latency, p.Errors = rec.summary()
	if el > 0 {
		p.PerSecond = float64(p.OK) / el.Seconds()
	}
	if m.pid > 0 {
		after, err := sampleProc(m.proc, m.pid)
		if err != nil {
			return p, fmt.Errorf("phase %s: %w", name, err)
		}
		p.ServerCPUMicros = float64(after.CPU-before.CPU) / float64(time.Microsecond)
		if p.OK > 0 {
			p.ServerCPUPerOp = p.ServerCPUMicros / float64(p.OK)
		}
	}
	return p, nil
}

// writeTable prints the result for people.
func (r *Result) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s against %s (n=%d c=%d rate=%s%s)\n", r.Scenario, r.Target, r.Count, r.Concurrency, rateText(r.Rate), map[bool]string{true: ", smoke"}[r.Smoke])
	fmt.Fprintln(tw, "phase\tok\tfailed\tseconds\tper s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tsrv µs/op\t")
	for _, p := range r.Phases {
		cpu := "-"
		if p.ServerCPUPerOp > 0 {
			cpu = fmt.Sprintf("%.0f", p.ServerCPUPerOp)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n",
			p.Name, p.OK, p.Failed, p.Seconds, p.PerSecond, p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.Max, cpu)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	if r.Sessions > 0 {
		fmt.Fprintf(w, "sessions held: %d", r.Sessions)
		if r.ServerRSSAfterKB > 0 {
			fmt.Fprintf(w, "; server RSS %d KiB → %d KiB, %.1f KiB per session", r.ServerRSSBeforeKB, r.ServerRSSAfterKB, r.ServerRSSPerSessKB)
		}
		fmt.Fprintln(w)
	}
	for _, p := range r.Phases {
		for _, e := range p.Errors {
			fmt.Fprintf(w, "%s error ×%d: %s\n", p.Name, e.Count, e.Error)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

func rateText(r float64) string {
	if r <= 0 {
		return "max"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", r), ".0") + "/s"
}

// writeJSON writes the result to a file.
func (r *Result) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	return nil
}
