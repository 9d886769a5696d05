package sipmap

import (
	"bytes"
	"errors"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

func TestMessageFromSIP(t *testing.T) {
	tests := []struct {
		in       Inbound
		wantBody string
		wantErr  error
	}{
		0: {in: Inbound{From: "sip:alice@example.com", To: "sip:bob@example.com", ContentType: "text/plain", Body: []byte("hi")}, wantBody: "hi"},
		1: {in: Inbound{From: "sip:alice@example.com", To: "sip:bob@example.com", Body: []byte("no type")}, wantBody: "no type"},
		2: {in: Inbound{From: "sip:alice@example.com", To: "sip:bob@example.com", ContentType: "text/plain; charset=ISO-8859-1", Body: []byte("x")}},
		3: {in: Inbound{From: "sip:alice@example.com", To: "sip:bob@example.com", ContentType: "application/im-iscomposing+xml", Body: []byte("<x/>")}},
		4: {in: Inbound{From: "tel:+1234", To: "sip:bob@example.com"}, wantErr: crosstalk.ErrUnmappable},
		5: {in: Inbound{From: "sip:alice@example.com", To: "mailto:bob@example.com"}, wantErr: crosstalk.ErrUnmappable},
		6: {in: Inbound{From: "sip:alice@example.com", To: "sip:bob@example.com", ContentType: "text/plain", Body: []byte{0xff, 0xfe}}},
	}
	for i, tc := range tests {
		m, err := MessageFromSIP(tc.in)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%d: err %v, want %v", i, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if m.Body != tc.wantBody || m.Type != crosstalk.MessageChat || m.Native.Protocol != crosstalk.ProtocolSIP ||
			!bytes.Equal(m.Native.Payload, tc.in.Body) || m.Native.ContentType != tc.in.ContentType {
			t.Errorf("%d: got %+v", i, m)
		}
	}
}

func TestMessageToSIP(t *testing.T) {
	alice, bob := crosstalk.MustParseAddress("alice@example.com/phone"), crosstalk.MustParseAddress("bob@example.com/x")
	tests := []struct {
		m       crosstalk.Message
		wantCT  string
		want    string
		wantErr error
	}{
		0: {m: crosstalk.Message{From: alice, To: bob, Body: "from xmpp", Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: []byte("<message/>")}}, wantCT: TextPlain, want: "from xmpp"},
		1: {m: crosstalk.Message{From: alice, To: bob, Native: crosstalk.Native{Protocol: crosstalk.ProtocolSIP, ContentType: "application/x-y", Payload: []byte{0, 1}}}, wantCT: "application/x-y", want: "\x00\x01"},
		2: {m: crosstalk.Message{From: alice, To: bob}, wantErr: ErrNoContent},
		3: {m: crosstalk.Message{From: alice, To: bob, Body: "b", Native: crosstalk.Native{Protocol: crosstalk.ProtocolSIP, ContentType: "text/plain\r\nX-Evil: 1", Payload: []byte("b")}}, wantCT: "text/plain  X-Evil: 1", want: "b"},
	}
	for i, tc := range tests {
		out, err := MessageToSIP(&tc.m)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%d: err %v", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if out.ContentType != tc.wantCT || string(out.Body) != tc.want || out.From != "sip:alice@example.com" || out.To != "sip:bob@example.com" {
			t.Errorf("%d: got %+v", i, out)
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"plain":                 "plain",
		"hi\r\nX-Injected: yes": "hi  X-Injected: yes",
		`"quoted\"`:             "quoted",
		"\x00tab\there\x7f":     "tab here",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsText(t *testing.T) {
	for ct, want := range map[string]bool{
		"":                               true,
		" ":                              true,
		"text/plain":                     true,
		"TEXT/Plain":                     true,
		"text/plain;charset=UTF-8":       true,
		"Text/Plain;Charset=utf-8":       true,
		"text/plain; charset=utf-8":      true,
		`text/plain;charset="utf-8"`:     true,
		"text/plain;charset=us-ascii":    true,
		"text/plain;charset=ISO-8859-1":  false,
		"text/plain;charset=utf-8;x":     false, // malformed parameter
		"text/html":                      false,
		"text/plai":                      false,
		"text/plain;charset=utf-16":      false,
		"te\u212at/plain":                false, // a Kelvin sign is no k
		"application/im-iscomposing+xml": false,
	} {
		if got := IsText(ct); got != want {
			t.Errorf("IsText(%q) = %v, want %v", ct, got, want)
		}
		if got := isTextMIME(ct); got != want {
			t.Errorf("isTextMIME(%q) = %v, want %v", ct, got, want)
		}
	}
}

// TestMessageFromAddresses checks that the addresses given are used as
// they are and the rest maps as MessageFromSIP maps it.
func TestMessageFromAddresses(t *testing.T) {
	in := Inbound{From: "sip:alice@example.com", To: "sip:bob@example.com", CallID: "c1",
		ContentType: "text/plain;charset=UTF-8", Body: []byte("hi"), Subject: "s"}
	want, err := MessageFromSIP(in)
	if err != nil {
		t.Fatal(err)
	}
	from, to := crosstalk.MustParseAddress("alice@example.com"), crosstalk.MustParseAddress("bob@example.com")
	got := MessageFromAddresses(from, to, Inbound{CallID: in.CallID, ContentType: in.ContentType, Body: in.Body, Subject: in.Subject})
	if got.From != from || got.To != to || got.ID != want.ID || got.Body != want.Body || got.Subject != want.Subject ||
		got.Type != want.Type || got.Native.ContentType != want.Native.ContentType || !bytes.Equal(got.Native.Payload, want.Native.Payload) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	in.Body[0] = 'H'
	if got.Native.Payload[0] != 'h' {
		t.Error("the payload shares the request's body")
	}
}

func TestParseURIControl(t *testing.T) {
	for _, u := range []string{"sip:al%01ice@example.com", "sip:al%7Fice@example.com", "sip:al ice@example.com"} {
		if _, err := ParseURI(u); !errors.Is(err, crosstalk.ErrUnmappable) {
			t.Errorf("ParseURI(%q): %v, want ErrUnmappable", u, err)
		}
	}
	if a, err := ParseURI("sip:alice@example.com"); err != nil || a.String() != "alice@example.com" {
		t.Errorf("ParseURI: %v %v", a, err)
	}
}
