package sipmap

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
)

var alice = crosstalk.MustParseAddress("alice@example.com/phone")

// decodePIDF decodes a body the way the frontends must: through xmlguard.
func decodePIDF(t testing.TB, body []byte) (crosstalk.Presence, error) {
	t.Helper()
	var doc PIDF
	if err := xmlguard.Decode(strings.NewReader(string(body)), xmlguard.DocumentLimits(64<<10), &doc); err != nil {
		return crosstalk.Presence{}, err
	}
	return PresenceFromPIDF(&doc)
}

// TestRenderPIDFRFC8048 has one row per row of the XMPP-to-SIP mapping of
// RFC 8048 (presence type, <show/> values, <status/>).
func TestRenderPIDFRFC8048(t *testing.T) {
	tests := []struct {
		name   string
		p      crosstalk.Presence
		want   []string // substrings of the document
		absent []string
	}{
		0: {"no type attribute → <basic>open</basic>", crosstalk.Presence{From: alice}, []string{"<basic>open</basic>"}, []string{"activities"}},
		1: {"type='unavailable' → <basic>closed</basic>", crosstalk.Presence{From: alice, Type: crosstalk.PresenceUnavailable}, []string{"<basic>closed</basic>"}, []string{"activities"}},
		2: {"show away → <rpid:away/>", crosstalk.Presence{From: alice, Show: crosstalk.ShowAway}, []string{"<basic>open</basic>", "<rpid:activities><rpid:away/></rpid:activities>"}, nil},
		3: {"show chat → open, no activity", crosstalk.Presence{From: alice, Show: crosstalk.ShowChat}, []string{"<basic>open</basic>"}, []string{"activities"}},
		4: {"show dnd → <rpid:busy/>", crosstalk.Presence{From: alice, Show: crosstalk.ShowDND}, []string{"<rpid:activities><rpid:busy/></rpid:activities>"}, nil},
		5: {"show xa → <rpid:away/>", crosstalk.Presence{From: alice, Show: crosstalk.ShowXA}, []string{"<rpid:activities><rpid:away/></rpid:activities>"}, nil},
		6: {"<status/> → <note/>", crosstalk.Presence{From: alice, Status: "at <lunch> & out"}, []string{"<note>at &lt;lunch&gt; &amp; out</note>"}, nil},
		7: {"from → entity (sip URI)", crosstalk.Presence{From: alice}, []string{`entity="sip:alice@example.com"`}, nil},
	}
	for i, tc := range tests {
		body, err := RenderPIDF(alice, &tc.p)
		if err != nil {
			t.Fatalf("%d %s: %v", i, tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(body), w) {
				t.Errorf("%d %s: %s lacks %q", i, tc.name, body, w)
			}
		}
		for _, a := range tc.absent {
			if strings.Contains(string(body), a) {
				t.Errorf("%d %s: %s has %q", i, tc.name, body, a)
			}
		}
	}
}

// TestPresenceFromPIDFRFC8048 has one row per row of the SIP-to-XMPP
// mapping of RFC 8048.
func TestPresenceFromPIDFRFC8048(t *testing.T) {
	const head = `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.com">`
	tests := []struct {
		name string
		body string
		want crosstalk.Presence
	}{
		0:  {"<basic>open</basic> → available", head + `<tuple id="a"><status><basic>open</basic></status></tuple></presence>`, crosstalk.Presence{}},
		1:  {"<basic>closed</basic> → unavailable", head + `<tuple id="a"><status><basic>closed</basic></status></tuple></presence>`, crosstalk.Presence{Type: crosstalk.PresenceUnavailable}},
		2:  {"<rpid:away/> → away", head + `<tuple id="a"><status><basic>open</basic></status></tuple><dm:person id="p"><rpid:activities><rpid:away/></rpid:activities></dm:person></presence>`, crosstalk.Presence{Show: crosstalk.ShowAway}},
		3:  {"<rpid:busy/> → dnd", head + `<tuple id="a"><status><basic>open</basic></status></tuple><dm:person id="p"><rpid:activities><rpid:busy/></rpid:activities></dm:person></presence>`, crosstalk.Presence{Show: crosstalk.ShowDND}},
		4:  {"<note/> → <status/>", head + `<tuple id="a"><status><basic>open</basic></status><note>lunch</note></tuple></presence>`, crosstalk.Presence{Status: "lunch"}},
		5:  {"other activity → plain available", head + `<tuple id="a"><status><basic>open</basic></status></tuple><dm:person id="p"><rpid:activities><rpid:meal/></rpid:activities></dm:person></presence>`, crosstalk.Presence{}},
		6:  {"RPID in <status/> (pre-4479 placement)", head + `<tuple id="a"><status><basic>open</basic><rpid:activities><rpid:busy/></rpid:activities></status></tuple></presence>`, crosstalk.Presence{Show: crosstalk.ShowDND}},
		7:  {"closed ignores activities", head + `<tuple id="a"><status><basic>closed</basic></status></tuple><dm:person id="p"><rpid:activities><rpid:away/></rpid:activities></dm:person></presence>`, crosstalk.Presence{Type: crosstalk.PresenceUnavailable}},
		8:  {"any open tuple wins", head + `<tuple id="a"><status><basic>closed</basic></status></tuple><tuple id="b"><status><basic>open</basic></status><note>b</note></tuple></presence>`, crosstalk.Presence{Status: "b"}},
		9:  {"person note when no tuple note", head + `<tuple id="a"><status><basic>open</basic></status></tuple><dm:person id="p"><dm:note>pn</dm:note></dm:person></presence>`, crosstalk.Presence{Status: "pn"}},
		10: {"pres: entity", strings.Replace(head, "sip:alice", "pres:alice", 1) + `<tuple id="a"><status><basic>open</basic></status></tuple></presence>`, crosstalk.Presence{}},
	}
	for i, tc := range tests {
		got, err := decodePIDF(t, []byte(tc.body))
		if err != nil {
			t.Fatalf("%d %s: %v", i, tc.name, err)
		}
		tc.want.From = alice.Bare()
		if got.From != tc.want.From || got.Type != tc.want.Type || got.Show != tc.want.Show || got.Status != tc.want.Status {
			t.Errorf("%d %s: got %+v, want %+v", i, tc.name, got, tc.want)
		}
	}
}

func TestPresenceFromPIDFErrors(t *testing.T) {
	for i, body := range []string{
		`<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`,
		`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="tel:+123"/>`,
		`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:example.com"/>`,
	} {
		if _, err := decodePIDF(t, []byte(body)); !errors.Is(err, ErrNotPIDF) {
			t.Errorf("%d: err %v, want ErrNotPIDF", i, err)
		}
	}
	// Not PIDF at all, a DTD, and an oversize body are refused by the guard.
	for i, body := range []string{
		`<presence xmlns="urn:other" entity="sip:a@b"/>`,
		`<!DOCTYPE presence [<!ENTITY x "y">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>`,
		`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">` + strings.Repeat("<note>x</note>", 10000) + `</presence>`,
	} {
		if _, err := decodePIDF(t, []byte(body)); err == nil {
			t.Errorf("guard %d: accepted", i)
		}
	}
}

func TestPIDFRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 25, 10, 0, 0, 123000000, time.UTC)
	for s := crosstalk.ShowNone; s <= crosstalk.ShowDND; s++ {
		in := crosstalk.Presence{From: alice, Show: s, Status: "st\r\natus\x01", Time: when}
		body, err := RenderPIDF(alice, &in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodePIDF(t, body)
		if err != nil {
			t.Fatalf("%s: %v\n%s", s, err, body)
		}
		if got.Show != NormalizeShow(s) || got.Status != CleanXMLText(in.Status) || !got.Time.Equal(when) || got.From != alice.Bare() || !got.Available() {
			t.Errorf("%s: got %+v", s, got)
		}
	}
	if _, err := RenderPIDF(crosstalk.MustParseAddress("example.com"), &crosstalk.Presence{}); !errors.Is(err, crosstalk.ErrUnmappable) {
		t.Errorf("domain entity: %v", err)
	}
}

func TestTupleIDIsNCName(t *testing.T) {
	for _, r := range []string{"", "phone", "a b/c:d", "\u00e9"} {
		id := tupleID(r)
		if err := xml.Unmarshal([]byte(`<a id="`+id+`"/>`), new(struct{})); err != nil || !strings.HasPrefix(id, "t") {
			t.Errorf("tupleID(%q) = %q", r, id)
		}
	}
}
