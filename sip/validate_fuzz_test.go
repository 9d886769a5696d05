package sip

import (
	"os"
	"path/filepath"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

// FuzzValidate feeds raw messages through sipgo's parser and our
// validation layer, and the request accessors the handlers use: nothing
// may panic, and a message Validate accepts has every mandatory header.
func FuzzValidate(f *testing.F) {
	files, _ := filepath.Glob("testdata/torture/*/*.dat")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := sipmsg.NewParser().ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sipmsg.Request)
		if !ok {
			return
		}
		if err := Validate(req); err != nil {
			return
		}
		if req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.MaxForwards() == nil {
			t.Fatalf("validated request lacks a mandatory header:\n%s", data)
		}
		_ = loopHash(req)
		_ = checkRequire(req)
		for _, h := range req.GetHeaders("Contact") {
			_ = h.Value()
		}
		_ = req.String()
	})
}

func BenchmarkValidate(b *testing.B) {
	data, err := os.ReadFile("testdata/torture/valid/dblreq.dat")
	if err != nil {
		b.Fatal(err)
	}
	p := sipmsg.NewParser()
	b.ReportAllocs()
	for b.Loop() {
		msg, err := p.ParseSIP(data)
		if err != nil {
			b.Fatal(err)
		}
		if err := Validate(msg.(*sipmsg.Request)); err != nil {
			b.Fatal(err)
		}
	}
}
