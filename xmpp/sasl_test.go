package xmpp

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
)

// TestParseAuth checks the <auth/> reader that spares encoding/xml against
// what xml.Unmarshal gives, for plain base64 and for every form of text
// that must go through the decoder (references, CDATA, a child, CR).
func TestParseAuth(t *testing.T) {
	for _, tc := range []struct{ in, mech, data string }{
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>biwsbj11c2VyLHI9YWJj</auth>", "SCRAM-SHA-256", "biwsbj11c2VyLHI9YWJj"},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>", "PLAIN", ""},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>=</auth>", "PLAIN", "="},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNl&#x41;&lt;</auth>", "PLAIN", "AGFsaWNlA<"},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'><![CDATA[AGFs]]>aWNl</auth>", "PLAIN", "AGFsaWNl"},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AG<x>ignored</x>Fs</auth>", "PLAIN", "AGFs"},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AG\r\nFs</auth>", "PLAIN", "AG\nFs"},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' xmlns:p='urn:x' p:mechanism='X' mechanism='PLAIN'>AA</auth>", "PLAIN", "AA"},
	} {
		tr := newTransport(&byteConn{r: bytes.NewReader([]byte(fuzzHeader + tc.in))}, xmlguard.Limits{MaxBytes: 4096}, time.Second, new(sync.Pool))
		if _, err := tr.readHeader(); err != nil {
			t.Fatal(err)
		}
		el, err := tr.next()
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		auth, err := parseAuth(el)
		if err != nil || auth.Mechanism != tc.mech || auth.Data != tc.data {
			t.Errorf("%s: got %q %q %v, want %q %q", tc.in, auth.Mechanism, auth.Data, err, tc.mech, tc.data)
		}
	}
}
