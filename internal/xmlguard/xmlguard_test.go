package xmlguard

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// drain reads every token of a stream through the guard and returns the
// number of stanzas (elements closed back to depth 1) and the first error
// other than io.EOF.
func drain(t *testing.T, input string, lim Limits) (int, error) {
	t.Helper()
	budget := NewBudget(strings.NewReader(input), lim.MaxBytes)
	r := NewReader(xml.NewDecoder(budget), lim, budget, 1)
	stanzas := 0
	for {
		tok, err := r.Token()
		if errors.Is(err, io.EOF) {
			return stanzas, nil
		}
		if err != nil {
			return stanzas, err
		}
		if _, ok := tok.(xml.EndElement); ok && r.Depth() == 1 {
			stanzas++
		}
	}
}

const streamHead = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

func TestReaderLimits(t *testing.T) {
	deep := strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40)
	var attrs strings.Builder
	attrs.WriteString("<message")
	for i := range 70 {
		attrs.WriteString(" a")
		attrs.WriteString(strings.Repeat("x", i+1))
		attrs.WriteString("='1'")
	}
	attrs.WriteString("/>")
	big := "<message><body>" + strings.Repeat("x", 5000) + "</body></message>"

	for i, tc := range [...]struct {
		name    string
		input   string
		lim     Limits
		stanzas int
		err     error
	}{
		0:  {"plain stanzas", streamHead + "<message><body>hi</body></message><presence/></stream:stream>", Limits{}, 2, nil},
		1:  {"too deep", streamHead + deep, Limits{MaxDepth: 32}, 0, ErrTooDeep},
		2:  {"deep within limit", streamHead + deep + "</stream:stream>", Limits{MaxDepth: 64}, 1, nil},
		3:  {"too many attributes", streamHead + attrs.String(), Limits{}, 0, ErrTooManyAttrs},
		4:  {"doctype", `<!DOCTYPE x [<!ENTITY a "b">]>` + streamHead, Limits{}, 0, ErrRestrictedXML},
		5:  {"comment in stanza", streamHead + "<message><!-- hi --></message>", Limits{}, 0, ErrRestrictedXML},
		6:  {"processing instruction", streamHead + "<message><?php x?></message>", Limits{}, 0, ErrRestrictedXML},
		7:  {"second xml declaration", streamHead + "<?xml version='1.0'?>", Limits{}, 0, ErrRestrictedXML},
		8:  {"stanza over budget", streamHead + big, Limits{MaxBytes: 2048}, 0, ErrTooLarge},
		9:  {"budget resets per stanza", streamHead + strings.Repeat("<message><body>"+strings.Repeat("y", 800)+"</body></message>", 20) + "</stream:stream>", Limits{MaxBytes: 8192}, 20, nil},
		10: {"billion laughs not expanded", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>`, Limits{}, 0, ErrRestrictedXML},
	} {
		got, err := drain(t, tc.input, tc.lim)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%d %s: err = %v, want %v", i, tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%d %s: unexpected error %v", i, tc.name, err)
			continue
		}
		if got != tc.stanzas {
			t.Errorf("%d %s: %d stanzas, want %d", i, tc.name, got, tc.stanzas)
		}
	}
}

func TestReaderErrorIsSticky(t *testing.T) {
	budget := NewBudget(strings.NewReader(streamHead+"<a><!--x--></a><b/>"), 0)
	r := NewReader(xml.NewDecoder(budget), Limits{}, budget, 1)
	var first error
	for range 10 {
		if _, err := r.Token(); err != nil {
			first = err
			break
		}
	}
	if !errors.Is(first, ErrRestrictedXML) {
		t.Fatalf("first error = %v", first)
	}
	if _, err := r.Token(); !errors.Is(err, ErrRestrictedXML) {
		t.Fatalf("second call = %v, want the same error", err)
	}
}

type presenceDoc struct {
	XMLName xml.Name `xml:"urn:ietf:params:xml:ns:pidf presence"`
	Entity  string   `xml:"entity,attr"`
	Tuples  []struct {
		ID     string `xml:"id,attr"`
		Status string `xml:"status>basic"`
	} `xml:"tuple"`
}

func TestDecode(t *testing.T) {
	const pidf = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:alice@example.com">
  <tuple id="t1"><status><basic>open</basic></status></tuple>
</presence>
`
	var doc presenceDoc
	if err := Decode(strings.NewReader(pidf), DocumentLimits(4096), &doc); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if doc.Entity != "pres:alice@example.com" || len(doc.Tuples) != 1 || doc.Tuples[0].Status != "open" {
		t.Fatalf("decoded %+v", doc)
	}

	for i, tc := range [...]struct {
		name  string
		input string
		lim   Limits
		err   error
	}{
		0: {"too large", pidf, DocumentLimits(64), ErrTooLarge},
		1: {"trailing element", pidf + "<x/>", DocumentLimits(4096), nil},
		2: {"comment", `<presence xmlns="urn:ietf:params:xml:ns:pidf"><!--c--></presence>`, DocumentLimits(4096), ErrRestrictedXML},
		3: {"doctype", `<!DOCTYPE p SYSTEM "file:///etc/passwd"><presence xmlns="urn:ietf:params:xml:ns:pidf"/>`, DocumentLimits(4096), ErrRestrictedXML},
		4: {"too deep", `<presence xmlns="urn:ietf:params:xml:ns:pidf">` + strings.Repeat("<x>", 50) + strings.Repeat("</x>", 50) + `</presence>`, DocumentLimits(4096), ErrTooDeep},
		5: {"not well formed", `<presence xmlns="urn:ietf:params:xml:ns:pidf"><a></b></presence>`, DocumentLimits(4096), nil},
		6: {"invalid utf-8", "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\">\xff</presence>", DocumentLimits(4096), nil},
	} {
		var v presenceDoc
		err := Decode(strings.NewReader(tc.input), tc.lim, &v)
		if err == nil {
			t.Errorf("%d %s: no error", i, tc.name)
			continue
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%d %s: err = %v, want %v", i, tc.name, err, tc.err)
		}
	}
}
