package sip

import (
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

func TestFlowOf(t *testing.T) {
	tests := []struct {
		reg      crosstalk.Registration
		wantTP   string
		wantDest string
	}{
		0: {reg: crosstalk.Registration{Contact: "sip:a@127.0.0.1:5070", Received: "udp:127.0.0.1:5071"}},
		1: {reg: crosstalk.Registration{Contact: "sip:a@192.168.1.20:5060", Received: "udp:198.51.100.7:40123"}, wantTP: "UDP", wantDest: "198.51.100.7:40123"},
		2: {reg: crosstalk.Registration{Contact: "sip:a@192.168.1.20:5060", Received: "udp:192.168.1.20:5060"}},
		3: {reg: crosstalk.Registration{Contact: "sip:a@198.51.100.7:5060", Received: "udp:203.0.113.1:5060"}},
		4: {reg: crosstalk.Registration{Contact: "sip:a@x.invalid;transport=tcp", Received: "tcp:198.51.100.7:40000"}, wantTP: "TCP", wantDest: "198.51.100.7:40000"},
		5: {reg: crosstalk.Registration{Contact: "sip:a@127.0.0.1:5070", Received: "udp:127.0.0.1:5071", RegID: 1}, wantTP: "UDP", wantDest: "127.0.0.1:5071"},
		6: {reg: crosstalk.Registration{Contact: "sip:a@x.invalid;transport=ws", Received: "ws:198.51.100.7:443", Path: []string{"<sip:edge;lr>"}}},
		7: {reg: crosstalk.Registration{Contact: "sip:a@127.0.0.1", Received: "garbage"}},
	}
	for i, tc := range tests {
		tp, dest, ok := flowOf(tc.reg)
		if tp != tc.wantTP || dest != tc.wantDest || ok != (tc.wantTP != "") {
			t.Errorf("%d: flowOf = %q %q %v, want %q %q", i, tp, dest, ok, tc.wantTP, tc.wantDest)
		}
	}
}
