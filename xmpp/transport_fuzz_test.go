package xmpp

import (
	"bytes"
	"encoding/xml"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// byteConn is a read-only net.Conn over a byte slice.
type byteConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *byteConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *byteConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }

const fuzzHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>"

// FuzzTransport feeds arbitrary bytes after a stream header to the read
// side of a connection. No input may panic it; every element it returns
// must be one well-formed element with the name it reported, within the
// stanza budget plus the decoder's read-ahead.
func FuzzTransport(f *testing.F) {
	f.Add([]byte("<message to='a@b'><body>hi</body></message> <presence/>"))
	f.Add([]byte("<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq></stream:stream>"))
	f.Add([]byte("<message><!-- x --></message>"))
	f.Add([]byte("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq><iq><a/>x<b/></iq><iq> <q xmlns='u' ver=''></q> </iq>"))
	f.Add([]byte("<a:b xmlns:a='urn:x'><c/></a:b><r xmlns='urn:xmpp:sm:3'/>"))
	f.Add([]byte("<message><body xmlns='urn:x'>no</body><body>a<b>x</b>&lt;<![CDATA[c]]></body><body>2</body><subject/><thread>t</thread></message>"))
	f.Add([]byte("  <message xml:lang='en' to='a@b' x:y='1' xmlns:x='urn:x'><body>a &amp; <![CDATA[<b>]]></body></message >\n<iq/><presence></presence>"))
	f.Fuzz(func(t *testing.T, input []byte) {
		const budget = 2048
		conn := &byteConn{r: bytes.NewReader(append([]byte(fuzzHeader), input...))}
		tr := newTransport(conn, xmlguard.Limits{MaxBytes: budget, MaxDepth: 8, MaxAttrs: 8}, time.Second, new(sync.Pool))
		if _, err := tr.readHeader(); err != nil {
			t.Fatalf("header: %v", err)
		}
		for i := range 1000 {
			if i%2 == 1 { // as the session's read loop does between elements
				tr.wait()
			}
			el, err := tr.next()
			if err != nil {
				return
			}
			var v struct{ XMLName xml.Name }
			if err := xml.Unmarshal(el.raw, &v); err != nil {
				t.Fatalf("element %q does not parse: %v", el.raw, err)
			}
			if v.XMLName.Local != el.start.Name.Local {
				t.Fatalf("element %q reported as <%s/>", el.raw, el.start.Name.Local)
			}
			if len(el.raw) > budget+4096+len(fuzzHeader) {
				t.Fatalf("element of %d bytes passed a %d-byte budget", len(el.raw), budget)
			}
			// The stanza the read loop builds from the decoded parts is the
			// one a second parse of the bytes gives.
			if el.start.Name.Space != nsClient {
				continue
			}
			got, gerr := xmppmap.NewStanza(el.start, el.inner)
			want, werr := xmppmap.ParseStanza(el.raw)
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("element %q: NewStanza error %v, ParseStanza error %v", el.raw, gerr, werr)
			}
			if gerr == nil && (got.Name != want.Name || !bytes.Equal(got.Inner, want.Inner) || !reflect.DeepEqual(got.Attrs, want.Attrs)) {
				t.Fatalf("element %q: from the stream %+v, parsed again %+v", el.raw, got, want)
			}
			// So are an IQ's children, as the decoder found them.
			if gerr == nil && got.Name == "iq" && !bytes.Contains(el.raw, []byte("xmlns:")) && !bytes.Contains(el.raw, []byte("stream:")) {
				checkIQChildren(t, el, want)
			}
			// So is the message, with the texts the stream's decoder found.
			// (A prefix declared for jabber:client is resolved in the
			// stream's scope, and not by a parse of the inner XML alone.)
			if gerr != nil || got.Name != "message" || bytes.Contains(el.raw, []byte("xmlns:")) {
				continue
			}
			got.SetChildTexts(el.texts)
			gm, gerr := xmppmap.ToMessage(&got)
			wm, werr := xmppmap.ToMessage(&want)
			if (gerr == nil) != (werr == nil) || gm.Body != wm.Body || gm.Subject != wm.Subject || gm.Thread != wm.Thread {
				t.Fatalf("element %q: message from the stream %q %q %q (%v), parsed again %q %q %q (%v)",
					el.raw, gm.Body, gm.Subject, gm.Thread, gerr, wm.Body, wm.Subject, wm.Thread, werr)
			}
		}
	})
}

// checkIQChildren fails t unless the children the decoder found for an IQ
// (el.children) are those a second parse of its bytes gives (want).
func checkIQChildren(t *testing.T, el element, want xmppmap.Stanza) {
	t.Helper()
	wc, err := want.Children()
	if err != nil {
		t.Fatalf("element %q: children do not parse again: %v", el.raw, err)
	}
	if el.children == nil {
		if len(wc) == 1 {
			t.Fatalf("element %q: one child %+v, not found by the decoder", el.raw, wc[0])
		}
		return
	}
	if len(wc) != 1 {
		t.Fatalf("element %q: the decoder found one child, a second parse %d", el.raw, len(wc))
	}
	g, w := el.children[0], wc[0]
	if g.XMLName != w.XMLName || !bytes.Equal(g.Inner, w.Inner) || len(g.Attrs) != len(w.Attrs) || len(g.Attrs) > 0 && !reflect.DeepEqual(g.Attrs, w.Attrs) {
		t.Fatalf("element %q: child from the stream %+v, parsed again %+v", el.raw, g, w)
	}
}
