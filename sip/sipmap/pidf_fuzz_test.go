package sipmap

import (
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// FuzzPIDFParse checks that no body panics the guarded decoder or the
// mapping, and that what maps is stable: core → PIDF → core gives back the
// same presence (PIDF → core is a projection, so a second trip is exact).
func FuzzPIDFParse(f *testing.F) {
	f.Add([]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="x"><status><basic>open</basic></status><note>n</note></tuple></presence>`))
	f.Add([]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="pres:a@b"><dm:person id="p"><r:activities><r:busy/><r:away/></r:activities><dm:note>x</dm:note></dm:person></presence>`))
	f.Add([]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="x"><status><basic>closed</basic></status><timestamp>2026-01-01T00:00:00Z</timestamp></tuple><note>&#xD;</note></presence>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p1, err := decodePIDF(t, body)
		if err != nil {
			return
		}
		out, err := RenderPIDF(p1.From, &p1)
		if err != nil {
			t.Fatalf("render %+v: %v", p1, err)
		}
		p2, err := decodePIDF(t, out)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", out, err)
		}
		if p2.From != p1.From || p2.Type != p1.Type || p2.Show != p1.Show || p2.Status != CleanXMLText(p1.Status) || !p2.Time.Equal(p1.Time) {
			t.Fatalf("round trip changed %+v into %+v\n%s", p1, p2, out)
		}
	})
}

// FuzzPIDFRoundTrip checks core → PIDF → core for any show, status and
// time: the RFC 8048 projection of show, the status as XML can carry it.
func FuzzPIDFRoundTrip(f *testing.F) {
	f.Add(uint8(2), "away from keyboard", true, int64(1764064800))
	f.Add(uint8(3), "\x00\xff<&>\r\n", false, int64(0))
	f.Fuzz(func(t *testing.T, show uint8, status string, available bool, unix int64) {
		in := crosstalk.Presence{From: alice, Show: crosstalk.Show(show % 5), Status: status}
		if !available {
			in.Type = crosstalk.PresenceUnavailable
		}
		if unix > 0 && unix < 1<<40 {
			in.Time = time.Unix(unix, 0)
		}
		body, err := RenderPIDF(alice, &in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodePIDF(t, body)
		if err != nil {
			t.Fatalf("decode %q: %v", body, err)
		}
		wantShow := NormalizeShow(in.Show)
		if !available {
			wantShow = crosstalk.ShowNone
		}
		if got.Available() != available || got.Show != wantShow || got.Status != CleanXMLText(status) || !got.Time.Equal(in.Time) {
			t.Fatalf("%+v became %+v\n%s", in, got, body)
		}
	})
}
