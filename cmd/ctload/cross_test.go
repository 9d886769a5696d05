package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"
)

// TestCrossSenderMessages checks the prepared bytes of cross's XMPP
// sender: well-formed messages to the peer, each with its own id, whose
// body starts with that id and a space (how the SIP user agent matches
// what it reads), with the padding escaped.
func TestCrossSenderMessages(t *testing.T) {
	c := newCrossSender(nil, "user2@localhost", "xsrun-", "x&<'")
	ids := []string{c.add(7), c.add(12)}
	if ids[0] != "xsrun-7" || ids[1] != "xsrun-12" {
		t.Fatalf("ids %q", ids)
	}
	type message struct {
		To   string `xml:"to,attr"`
		Type string `xml:"type,attr"`
		ID   string `xml:"id,attr"`
		Body string `xml:"body"`
	}
	d := xml.NewDecoder(bytes.NewReader(c.buf))
	for i, id := range ids {
		var m message
		if err := d.Decode(&m); err != nil {
			t.Fatalf("message %d: %v in %q", i, err, c.buf)
		}
		want := message{To: "user2@localhost", Type: "chat", ID: id, Body: id + " x&<'"}
		if m != want {
			t.Errorf("message %d = %+v, want %+v", i, m, want)
		}
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		t.Errorf("after two messages: %v, want EOF", err)
	}
}
