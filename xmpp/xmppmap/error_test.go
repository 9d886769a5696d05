package xmppmap

import (
	"strings"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// TestFromMessageDeliveryError renders a delivery error from the other
// protocol as an RFC 6120 §8.3 <error/>; a condition that is not an
// element name becomes undefined-condition.
func TestFromMessageDeliveryError(t *testing.T) {
	for i, tc := range []struct {
		err  crosstalk.DeliveryError
		want string
	}{
		{crosstalk.DeliveryError{Condition: "recipient-unavailable", Type: "wait", Text: "Busy Here"},
			"<error type='wait'><recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Busy Here</text></error>"},
		{crosstalk.DeliveryError{Condition: "item-not-found", Type: "cancel"},
			"<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"},
		{crosstalk.DeliveryError{Condition: "x'/><evil", Type: "bogus", Text: "<b>"},
			"<error type='cancel'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>&lt;b&gt;</text></error>"},
	} {
		m := &crosstalk.Message{
			ID: "e1", From: crosstalk.MustParseAddress("bob@example.com"), To: crosstalk.MustParseAddress("alice@example.com/phone"),
			Type: crosstalk.MessageError, Body: "hi", Error: &tc.err,
		}
		out := string(FromMessage(m))
		if !strings.Contains(out, tc.want) || !strings.Contains(out, "type='error'") {
			t.Errorf("%d: %s\nwant %s", i, out, tc.want)
		}
		if _, err := ParseStanza([]byte(out)); err != nil {
			t.Errorf("%d: not well-formed: %v", i, err)
		}
	}
}

// FuzzDeliveryError: whatever condition, type and text a delivery error
// carries (the text is a remote SIP reason phrase), the rendered message is
// a well-formed stanza with one <error/>.
func FuzzDeliveryError(f *testing.F) {
	f.Add("recipient-unavailable", "wait", "Busy Here")
	f.Add("item-not-found", "cancel", "")
	f.Add("'/><x", "<", "]]><&\x00\xff")
	f.Fuzz(func(t *testing.T, cond, typ, text string) {
		m := &crosstalk.Message{
			ID: "e", From: crosstalk.MustParseAddress("bob@example.com"), To: crosstalk.MustParseAddress("alice@example.com/a"),
			Type: crosstalk.MessageError, Error: &crosstalk.DeliveryError{Condition: cond, Type: typ, Text: text},
		}
		out := FromMessage(m)
		s, err := ParseStanza(out)
		if err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		if n := strings.Count(string(s.Inner), "<error "); n != 1 {
			t.Fatalf("%d <error/> in %q", n, out)
		}
	})
}
