package sip

import (
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

func udpMessage(body int) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: 5070})
	req.AppendHeader(&sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}, Params: sipmsg.NewParams()})
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: "bob", Host: "example.com"}, Params: sipmsg.NewParams()})
	cid := sipmsg.CallIDHeader("c1")
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.MESSAGE})
	req.SetBody([]byte(strings.Repeat("x", body)))
	req.SetTransport("UDP")
	return req
}

// TestTooBigForUDP agrees with the length of the serialised request on
// both sides of the 1300-byte limit, and never moves TCP.
func TestTooBigForUDP(t *testing.T) {
	for body := 900; body < 1400; body += 7 {
		req := udpMessage(body)
		if got, want := tooBigForUDP(req), len(req.String()) > udpRequestLimit; got != want {
			t.Fatalf("body %d (request %d bytes): %v, want %v", body, len(req.String()), got, want)
		}
	}
	req := udpMessage(5000)
	req.SetTransport("TCP")
	if tooBigForUDP(req) {
		t.Fatal("a TCP request moved")
	}
}

func BenchmarkTooBigForUDP(b *testing.B) {
	req := udpMessage(200)
	b.ReportAllocs()
	for b.Loop() {
		tooBigForUDP(req)
	}
}

// BenchmarkSerialisedLength is the former check, for comparison.
func BenchmarkSerialisedLength(b *testing.B) {
	req := udpMessage(200)
	b.ReportAllocs()
	for b.Loop() {
		_ = len(req.String()) > udpRequestLimit
	}
}
