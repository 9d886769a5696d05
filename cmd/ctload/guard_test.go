package main

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestLoopbackAddr(t *testing.T) {
	for i, tc := range [...]struct {
		in   string
		want string // "" when refused
		not  bool   // refused as not loopback (rather than malformed)
	}{
		0:  {"127.0.0.1:5222", "127.0.0.1:5222", false},
		1:  {"127.3.4.5:5060", "127.3.4.5:5060", false},
		2:  {"[::1]:5222", "[::1]:5222", false},
		3:  {"localhost:5222", "127.0.0.1:5222", false},
		4:  {"LOCALHOST:1", "127.0.0.1:1", false},
		5:  {"[::ffff:127.0.0.1]:5222", "127.0.0.1:5222", false},
		6:  {"10.0.0.1:5222", "", true},
		7:  {"192.168.1.1:5060", "", true},
		8:  {"0.0.0.0:5222", "", true},
		9:  {"[::]:5222", "", true},
		10: {"example.com:5222", "", true},
		11: {"localhost.example.com:5222", "", true},
		12: {"8.8.8.8:53", "", true},
		13: {"[::ffff:10.0.0.1]:5222", "", true},
		14: {"127.0.0.1", "", false},
		15: {"127.0.0.1:0", "", false},
		16: {"127.0.0.1:70000", "", false},
		17: {"[fe80::1%lo]:5222", "", true},
	} {
		got, err := loopbackAddr(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%d: %q accepted as %s", i, tc.in, got)
			} else if tc.not != errors.Is(err, errNotLoopback) {
				t.Errorf("%d: %q: error %v, errNotLoopback wanted %v", i, tc.in, err, tc.not)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("%d: %q = %s, %v; want %s", i, tc.in, got, err, tc.want)
		}
	}
}

func TestLoopbackOnlyRefusesAtConnect(t *testing.T) {
	if err := loopbackOnly("tcp4", "127.0.0.9:1", nil); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
	for _, a := range []string{"10.1.2.3:80", "[2001:db8::1]:5060", "bad"} {
		if err := loopbackOnly("tcp", a, nil); err == nil {
			t.Errorf("%s allowed", a)
		}
	}
	// The dialer ctload uses carries the guard: dialling out is refused
	// before any packet leaves.
	d := newDialer(netip.Addr{}, time.Second)
	if _, err := d.Dial("tcp", "192.0.2.1:9"); !errors.Is(err, errNotLoopback) {
		t.Errorf("dial to 192.0.2.1: %v, want errNotLoopback", err)
	}
}

func TestParseSources(t *testing.T) {
	got, err := parseSources("127.0.0.2-127.0.0.4, 127.0.1.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.1.1"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%d: %s, want %s", i, got[i], want[i])
		}
	}
	if s, err := parseSources(""); err != nil || s != nil {
		t.Errorf("empty: %v %v", s, err)
	}
	for _, bad := range []string{"10.0.0.1", "127.0.0.5-127.0.0.2", "127.0.0.1-10.0.0.1", "x", "127.0.0.0-127.2.0.0"} {
		if _, err := parseSources(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
