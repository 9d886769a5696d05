package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	line := []byte("4242 (lua5.4 (x) y) S 1 4242 4242 0 -1 4194560 3000 0 0 0 250 75 0 0 20 0 1 0 123 456 789 0 0\n")
	ppid, u, s, err := parseStat(line)
	if err != nil || ppid != 1 || u != 250 || s != 75 {
		t.Fatalf("parseStat = %d %d %d %v", ppid, u, s, err)
	}
	if _, _, _, err := parseStat([]byte("1 (x) S 0")); err == nil {
		t.Error("short line accepted")
	}
}

func TestParseVmRSS(t *testing.T) {
	if got := parseVmRSS([]byte("Name:\tx\nVmPeak:\t 9 kB\nVmRSS:\t   12345 kB\n")); got != 12345 {
		t.Errorf("VmRSS = %d", got)
	}
	if got := parseVmRSS([]byte("Name:\tx\n")); got != 0 {
		t.Errorf("no VmRSS = %d", got)
	}
}

// TestSampleProcTree builds a fake /proc: a server with a child and a
// grandchild, and an unrelated process.
func TestSampleProcTree(t *testing.T) {
	dir := t.TempDir()
	write := func(pid, ppid, ut, st, rss int) {
		d := filepath.Join(dir, strconv.Itoa(pid))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		stat := strconv.Itoa(pid) + " (srv) S " + strconv.Itoa(ppid) + " 0 0 0 -1 0 0 0 0 0 " + strconv.Itoa(ut) + " " + strconv.Itoa(st) + " 0 0 20 0 1 0 0 0 0\n"
		os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644)
		os.WriteFile(filepath.Join(d, "status"), []byte("VmRSS:\t"+strconv.Itoa(rss)+" kB\n"), 0o644)
	}
	write(10, 1, 100, 50, 1000)
	write(11, 10, 10, 10, 200)
	write(12, 11, 5, 5, 100)
	write(13, 1, 999, 999, 9999)
	os.MkdirAll(filepath.Join(dir, "self"), 0o755)
	s, err := sampleProc(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	if s.Procs != 3 || s.CPU != 1800*time.Millisecond || s.RSSKB != 1300 {
		t.Errorf("sample %+v", s)
	}
	if _, err := sampleProc(dir, 99); err == nil {
		t.Error("missing process accepted")
	}
}

func TestSampleOwnProcess(t *testing.T) {
	s, err := sampleProc("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSKB <= 0 || s.Procs < 1 {
		t.Errorf("own sample %+v", s)
	}
}
