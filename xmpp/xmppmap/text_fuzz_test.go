package xmppmap

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// FuzzPlainText checks the decoder-free path of Element.Text: whatever
// PlainText accepts, encoding/xml gives back byte for byte; and Text
// agrees with the decoder on everything.
func FuzzPlainText(f *testing.F) {
	for _, s := range []string{
		"", "hello", "Grüße, 世界", "a\tb\nc", "a\r\nb", "a&amp;b", "&#x41;", "a<b/>c", "<![CDATA[x]]>",
		"]]>", "]]", "a]b>", "\x00", "\x1f", "\xff", "\xed\xa0\x80", "\uFFFE", "\uFFFF", "\U0001F600", "  ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, inner []byte) {
		slow := decodedText(inner)
		if PlainText(inner) && slow != string(inner) {
			t.Fatalf("PlainText(%q) but the decoder gives %q", inner, slow)
		}
		e := Element{Inner: inner}
		if got := e.Text(); got != slow {
			t.Fatalf("Text(%q) = %q, the decoder gives %q", inner, got, slow)
		}
	})
}

// TestChildrenOfEmpty checks that a stanza with no content, or only white
// space, has no children (and that one with content still parses).
func TestChildrenOfEmpty(t *testing.T) {
	for _, inner := range []string{"", " \n\t "} {
		s := Stanza{Name: "presence", Inner: []byte(inner)}
		if c, err := s.Children(); err != nil || c != nil {
			t.Fatalf("children of %q: %v, %v", inner, c, err)
		}
	}
	s := Stanza{Name: "presence", Inner: []byte(" <show>away</show> ")}
	c, err := s.Children()
	if err != nil || len(c) != 1 || c[0].XMLName.Local != "show" || c[0].Text() != "away" {
		t.Fatalf("children: %+v, %v", c, err)
	}
	bad := Stanza{Name: "presence", Inner: []byte("<show>")}
	if _, err := bad.Children(); err == nil {
		t.Fatal("children of a half element parsed")
	}
}

// FuzzEscape checks Escape, with its shortcut for plain ASCII, against
// xml.EscapeText.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "alice@example.com/phone", "a<b", "x'y\"z", "tab\there", "é", "\x00", "\xff", "~\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		_ = xml.EscapeText(&want, []byte(s))
		if got := Escape(s); got != want.String() {
			t.Fatalf("Escape(%q) = %q, want %q", s, got, want.String())
		}
	})
}
