package xmpp

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
)

// TestTraceRedactsSASL checks that wire traces never carry SASL payloads.
func TestTraceRedactsSASL(t *testing.T) {
	var logs bytes.Buffer
	input := "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth><message><body>hi</body></message>"
	tr := newTransport(&byteConn{r: bytes.NewReader([]byte(fuzzHeader + input))}, xmlguard.Limits{MaxBytes: 4096}, time.Second)
	tr.log = zerolog.New(&logs).Level(zerolog.TraceLevel)
	if _, err := tr.readHeader(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := tr.next(); err != nil {
			t.Fatal(err)
		}
	}
	_ = tr.write([]byte("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dj1zZWNyZXQ=</success>"))
	out := logs.String()
	if strings.Contains(out, "AGFsaWNl") || strings.Contains(out, "dj1zZWNyZXQ") || !strings.Contains(out, "redacted") || !strings.Contains(out, "<body>hi</body>") {
		t.Fatalf("trace: %s", out)
	}
}
