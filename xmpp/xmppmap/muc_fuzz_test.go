package xmppmap

import (
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// FuzzMUCPresence feeds join presences through ToPresence and renders room
// presence from fuzzed nicknames, statuses and reasons: the join's history
// request stays in range, and every rendered presence parses back with its
// status and reason intact.
func FuzzMUCPresence(f *testing.F) {
	f.Add([]byte(`<presence to='r@conference.example.com/n'><x xmlns='http://jabber.org/protocol/muc'><password>p</password><history maxstanzas='3' seconds='60' since='2026-01-01T00:00:00Z' maxchars='0'/></x></presence>`), "Nick", "brb ☕", "bye <now> & go")
	f.Add([]byte(`<presence to='r@conference.example.com/n'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='-9'/></x></presence>`), "a'b\"c", "", "")
	f.Fuzz(func(t *testing.T, raw []byte, nick, status, reason string) {
		if s, err := ParseStanza(raw); err == nil {
			if p, err := ToPresence(&s); err == nil && p.Join != nil && p.Join.MaxStanzas < -1 {
				t.Fatalf("join asks for %d stanzas", p.Join.MaxStanzas)
			}
		}
		from, err := crosstalk.MustParseAddress("r@conference.example.com").WithResource(nick)
		if err != nil {
			return
		}
		p := &crosstalk.Presence{From: from, Status: status, Occupant: &crosstalk.OccupantInfo{Role: crosstalk.RoleVisitor, Reason: reason, Codes: []int{307}}}
		out := FromPresence(p, crosstalk.MustParseAddress("b@example.com/r"))
		s, err := ParseStanza(out)
		if err != nil {
			t.Fatalf("rendered room presence does not parse: %v\n%s", err, out)
		}
		back, err := ToPresence(&s)
		if err != nil {
			t.Fatalf("rendered room presence does not map: %v\n%s", err, out)
		}
		if back.From != from || back.Status != status && validText(status) {
			t.Fatalf("round trip: from %s status %q, want %s %q\n%s", back.From, back.Status, from, status, out)
		}
	})
}

// validText reports whether s survives XML as character data unchanged
// (XML 1.0 characters, no bare CR, which parsers normalise).
func validText(s string) bool {
	for _, r := range s {
		if r == '\r' || r == 0xFFFD || r < 0x20 && r != '\t' && r != '\n' || r > 0xD7FF && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}
