package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// maxProcs bounds the /proc entries scanned for a server's descendants.
const maxProcs = 100_000

// procSample is a server's CPU time and resident memory at one moment,
// summed over the process and its descendants (Kamailio forks workers).
type procSample struct {
	// CPU is user plus system time.
	CPU time.Duration
	// RSSKB is the resident set in KiB (VmRSS; shared pages of several
	// processes are counted once per process).
	RSSKB int64
	// Procs is how many processes were summed.
	Procs int
}

// sampleProc reads /proc for pid and its descendants.
func sampleProc(proc string, pid int) (procSample, error) {
	pids, err := descendants(proc, pid)
	if err != nil {
		return procSample{}, err
	}
	var s procSample
	for _, p := range pids {
		st, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(p), "stat"))
		if err != nil {
			if p == pid {
				return procSample{}, fmt.Errorf("server process %d: %w", pid, err)
			}
			continue // a child that just exited
		}
		_, utime, stime, err := parseStat(st)
		if err != nil {
			return procSample{}, fmt.Errorf("/proc/%d/stat: %w", p, err)
		}
		s.CPU += time.Duration(utime+stime) * time.Second / clockTicks
		if status, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(p), "status")); err == nil {
			s.RSSKB += parseVmRSS(status)
		}
		s.Procs++
	}
	return s, nil
}

// parseStat returns the ppid, utime and stime fields of a /proc/PID/stat
// line. The command name may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte) (ppid int, utime, stime int64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, fmt.Errorf("no command name in %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state(3) ppid(4) … utime(14) stime(15), so index
	// field n at f[n-3].
	if len(f) < 13 {
		return 0, 0, 0, fmt.Errorf("only %d fields", len(f)+2)
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, 0, fmt.Errorf("ppid: %w", err)
	}
	if utime, err = strconv.ParseInt(f[11], 10, 64); err != nil {
		return 0, 0, 0, fmt.Errorf("utime: %w", err)
	}
	if stime, err = strconv.ParseInt(f[12], 10, 64); err != nil {
		return 0, 0, 0, fmt.Errorf("stime: %w", err)
	}
	return ppid, utime, stime, nil
}

// parseVmRSS returns VmRSS in KiB from /proc/PID/status, or 0.
func parseVmRSS(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		return n
	}
	return 0
}

// descendants returns pid followed by all its descendants.
func descendants(proc string, pid int) ([]int, error) {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", proc, err)
	}
	children := make(map[int][]int)
	for i, e := range entries {
		if i >= maxProcs {
			break
		}
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join(proc, e.Name(), "stat"))
		if err != nil {
			continue
		}
		if ppid, _, _, err := parseStat(st); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out) && i < maxProcs; i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}
