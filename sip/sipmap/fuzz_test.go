package sipmap

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzRoundTrip checks that SIP → core → SIP keeps every body and
// Content-Type byte for byte (ARCHITECTURE.md rule 3), and that nothing
// mapped into a header can carry CR or LF.
func FuzzRoundTrip(f *testing.F) {
	f.Add("sip:alice@example.com", "sip:bob@example.com", "text/plain", []byte("hello"), "subj")
	f.Add("sips:a%40b@example.com;transport=tls", "sip:bob@[::1]:5060", "application/cpim", []byte{0, 1, 2}, "a\r\nb")
	f.Fuzz(func(t *testing.T, from, to, ct string, body []byte, subject string) {
		in := Inbound{From: from, To: to, ContentType: ct, Body: body, Subject: subject}
		m, err := MessageFromSIP(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Fatalf("subject %q keeps a line break", m.Subject)
		}
		out, err := MessageToSIP(&m)
		if err != nil {
			if len(body) == 0 {
				return
			}
			t.Fatalf("round trip of %+v: %v", in, err)
		}
		if !bytes.Equal(out.Body, body) {
			t.Fatalf("body %q became %q", body, out.Body)
		}
		if ct != "" && Sanitize(ct) == ct && out.ContentType != ct {
			t.Fatalf("content type %q became %q", ct, out.ContentType)
		}
		if strings.ContainsAny(out.ContentType+out.Subject+out.From+out.To, "\r\n") {
			t.Fatalf("a header value keeps a line break: %+v", out)
		}
	})
}

// FuzzSanitize checks that Sanitize never leaves a control character or a
// quote.
func FuzzSanitize(f *testing.F) {
	f.Add("a\r\nb")
	f.Add("\"x\\\"")
	f.Fuzz(func(t *testing.T, s string) {
		out := Sanitize(s)
		for _, r := range out {
			if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
				t.Fatalf("Sanitize(%q) = %q keeps %q", s, out, r)
			}
		}
	})
}

// FuzzIsText checks IsText's quick comparisons against the MIME parser.
func FuzzIsText(f *testing.F) {
	for _, s := range []string{"text/plain", "TEXT/PLAIN;CHARSET=UTF-8", "text/plain; charset=utf-8", "text/html", "te\u212at/plain", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		if IsText(ct) != isTextMIME(ct) {
			t.Errorf("IsText(%q) = %v, the MIME parser says %v", ct, IsText(ct), isTextMIME(ct))
		}
	})
}
