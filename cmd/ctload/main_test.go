package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRefusesAndExplains(t *testing.T) {
	for i, tc := range [...]struct {
		args []string
		want string
	}{
		0: {[]string{"-xmpp", "203.0.113.5:5222", "xmpp-login"}, "not a loopback address"},
		1: {[]string{"-sip", "[2001:db8::1]:5060", "sip-message"}, "not a loopback address"},
		2: {[]string{"-xmpp", "192.0.2.7:5222", "cross"}, "not a loopback address"},
		3: {[]string{"bogus"}, "want one of"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errb); code != 2 {
			t.Errorf("%d: %q exited %d, want 2", i, tc.args, code)
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%d: %q: stderr %q lacks %q", i, tc.args, errb.String(), tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("%d: %q printed a result: %q", i, tc.args, out.String())
		}
	}
}

// TestRunNothingListening runs a real scenario against a loopback port
// nobody listens on: every operation fails fast, the run exits 1, and the
// table and JSON say so (xmpp-login stops after its warm-up, which had no
// success).
func TestRunNothingListening(t *testing.T) {
	jsonFile := filepath.Join(t.TempDir(), "r.json")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-xmpp", "127.0.0.1:1", "-n", "3", "-c", "1", "-d", "5s", "-insecure", "-json", jsonFile, "xmpp-login"}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "warm-up error ×3: connect:") {
		t.Errorf("table:\n%s", out.String())
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Phases) != 1 || r.Phases[0].Name != "warm-up" || r.Phases[0].Failed != 3 || r.Phases[0].OK != 0 || r.Phases[0].Attempted != 3 || !r.failed() {
		t.Errorf("result %+v", r)
	}
}

func TestResultFailed(t *testing.T) {
	for i, tc := range [...]struct {
		phases []Phase
		want   bool
	}{
		0: {nil, true},
		1: {[]Phase{{OK: 5}}, false},
		2: {[]Phase{{OK: 5}, {OK: 0}}, true},
		3: {[]Phase{{OK: 5, Failed: 1}, {OK: 9}}, true},
	} {
		if got := (&Result{Phases: tc.phases}).failed(); got != tc.want {
			t.Errorf("%d: failed() = %v, want %v", i, got, tc.want)
		}
	}
}

// TestRunCPUProfile: -cpuprofile writes a profile (gzipped protocol
// buffers, as pprof reads them).
func TestRunCPUProfile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-xmpp", "127.0.0.1:1", "-n", "1", "-c", "1", "-d", "5s", "-insecure", "-cpuprofile", prof, "xmpp-login"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	f, err := os.Open(prof)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	if b, err := io.ReadAll(z); err != nil || len(b) == 0 {
		t.Fatalf("profile: %d bytes, %v", len(b), err)
	}
}
