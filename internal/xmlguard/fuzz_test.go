package xmlguard

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzReader checks that no input panics the guard, and that whatever it
// lets through respects the depth and attribute caps and contains no
// restricted tokens.
func FuzzReader(f *testing.F) {
	f.Add(streamHead + "<message to='a@b'><body>hi</body></message>")
	f.Add("<a><b><c/></b></a>")
	f.Add("<!DOCTYPE a><a/>")
	f.Add("<a><!--c--><?pi x?></a>")
	f.Add("<a x='1' y='2' z='3'>" + strings.Repeat("<b>", 10) + "</a>")
	f.Fuzz(func(t *testing.T, input string) {
		lim := Limits{MaxBytes: 1024, MaxDepth: 8, MaxAttrs: 4}
		budget := NewBudget(strings.NewReader(input), lim.MaxBytes)
		r := NewReader(xml.NewDecoder(budget), lim, budget, 1)
		for range 10000 {
			tok, err := r.Token()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return
				}
				return
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				if r.Depth() > lim.MaxDepth {
					t.Fatalf("depth %d passed the cap", r.Depth())
				}
				if len(tok.Attr) > lim.MaxAttrs {
					t.Fatalf("%d attributes passed the cap", len(tok.Attr))
				}
			case xml.Comment, xml.Directive:
				t.Fatalf("restricted token %T passed", tok)
			case xml.ProcInst:
				if tok.Target != "xml" {
					t.Fatalf("processing instruction %q passed", tok.Target)
				}
			}
		}
	})
}
