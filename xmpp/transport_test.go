package xmpp

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// TestTraceRedactsSASL checks that wire traces never carry SASL payloads.
func TestTraceRedactsSASL(t *testing.T) {
	var logs bytes.Buffer
	input := "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth><message><body>hi</body></message>"
	tr := newTransport(&byteConn{r: bytes.NewReader([]byte(fuzzHeader + input))}, xmlguard.Limits{MaxBytes: 4096}, time.Second, new(sync.Pool))
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

// chunkConn hands out its input a few bytes at a time and records, for
// every read, whether the transport above held a read buffer meanwhile.
type chunkConn struct {
	byteConn
	chunk int
	tr    *transport
	// held[i] is true when read i happened while a pooled buffer was held.
	held []bool
}

func (c *chunkConn) Read(p []byte) (int, error) {
	c.held = append(c.held, c.tr.rec.r.buf != nil)
	return c.r.Read(p[:min(len(p), c.chunk)])
}

// TestWaitHoldsNoBuffer checks that a connection waiting between stanzas
// holds no pooled read buffer, and that elements split over many reads and
// over waits come out whole.
func TestWaitHoldsNoBuffer(t *testing.T) {
	in := "<message id='1'><body>" + strings.Repeat("é", 3000) + "</body></message><presence/><iq type='get' id='2'><ping xmlns='urn:xmpp:ping'/></iq>"
	for _, chunk := range []int{1, 7, 64, 5000} {
		c := &chunkConn{byteConn: byteConn{r: bytes.NewReader([]byte(fuzzHeader + in))}, chunk: chunk}
		pool := new(sync.Pool)
		tr := newTransport(c, xmlguard.Limits{MaxBytes: 1 << 20}, time.Second, pool)
		c.tr = tr
		if _, err := tr.readHeader(); err != nil {
			t.Fatal(err)
		}
		var names []string
		var raw []byte
		for {
			before := len(c.held)
			tr.wait()
			if len(c.held) > before && c.held[before] {
				t.Fatalf("chunk %d: waited while holding a read buffer", chunk)
			}
			el, err := tr.next()
			if err != nil {
				break
			}
			names = append(names, el.start.Name.Local)
			raw = append(raw, el.raw...)
		}
		if strings.Join(names, ",") != "message,presence,iq" || string(raw) != in {
			t.Fatalf("chunk %d: got %v, %d bytes", chunk, names, len(raw))
		}
	}
}

// TestIQChildrenFromDecoder: the child of an IQ comes from the stream's
// decoder, its inner XML a slice of the IQ's bytes (no second parse), and
// equals what a parse of the IQ gives; an IQ with two children is left to
// that parse.
func TestIQChildrenFromDecoder(t *testing.T) {
	in := "<iq type='get' id='r'><query xmlns='jabber:iq:roster' ver='3'><item jid='a@b'/></query></iq>" +
		"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>" +
		"<iq type='get' id='2'><a xmlns='urn:a'/><b xmlns='urn:b'/></iq>" +
		"<message><body>m</body></message>"
	conn := &byteConn{r: bytes.NewReader([]byte(fuzzHeader + in))}
	tr := newTransport(conn, xmlguard.Limits{MaxBytes: 4096, MaxDepth: 8, MaxAttrs: 8}, time.Second, new(sync.Pool))
	if _, err := tr.readHeader(); err != nil {
		t.Fatal(err)
	}
	wantKids := []int{1, 1, 0, 0}
	for i, want := range wantKids {
		el, err := tr.next()
		if err != nil {
			t.Fatalf("element %d: %v", i, err)
		}
		if len(el.children) != want {
			t.Fatalf("element %q: %d children from the decoder, want %d", el.raw, len(el.children), want)
		}
		st, err := xmppmap.ParseStanza(el.raw)
		if err != nil {
			t.Fatal(err)
		}
		if st.Name == "iq" {
			checkIQChildren(t, el, st)
		}
		if want == 0 {
			continue
		}
		inner := el.children[0].Inner
		if len(inner) > 0 && !bytes.Contains(el.raw, inner) {
			t.Fatalf("element %q: child inner %q", el.raw, inner)
		}
		if len(inner) > 0 && (&inner[0] != &el.raw[bytes.Index(el.raw, inner)]) {
			t.Fatalf("element %q: the child's inner XML was copied or parsed again", el.raw)
		}
		st.SetChildren(el.children)
		if got, _ := st.Children(); len(got) != 1 || got[0].XMLName != el.children[0].XMLName {
			t.Fatalf("Children after SetChildren: %+v", got)
		}
		st.Inner = append([]byte(nil), st.Inner...) // replaced: parsed again
		if got, err := st.Children(); err != nil || len(got) != 1 || len(inner) > 0 && &got[0].Inner[0] == &inner[0] {
			t.Fatalf("Children after Inner was replaced: %+v, %v", got, err)
		}
	}
}
