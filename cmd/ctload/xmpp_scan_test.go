package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// scanned is what a stanzaScanner reported for a stream.
type scanned struct {
	msgs  []string // "id/type"
	ended bool
	err   string
}

// scanAll feeds data in chunks of at most chunk bytes (0: all at once).
func scanAll(data []byte, chunk int) scanned {
	var out scanned
	s := stanzaScanner{message: func(id, typ []byte) {
		out.msgs = append(out.msgs, string(id)+"/"+string(typ))
	}}
	if chunk <= 0 {
		chunk = len(data) + 1
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		if err := s.feed(data[:n]); err != nil {
			out.err = err.Error()
			break
		}
		data = data[n:]
	}
	out.ended = s.ended && out.err == ""
	return out
}

const streamHead = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' version='1.0' from='localhost'>`

func TestStanzaScanner(t *testing.T) {
	tests := map[string]struct {
		in    string
		msgs  []string
		ended bool
		err   error
	}{
		"prosody style": {
			in:   streamHead + `<message xml:lang='en' type='chat' to='user2@localhost/r' from='user1@localhost/r' id='ct1'><body>x</body></message>`,
			msgs: []string{"ct1/chat"},
		},
		"ejabberd style, double quotes, id first": {
			in:   streamHead + `<message id="ct2" xml:lang="en" to="user2@localhost/r" from="user1@localhost/r" type="chat"><body>x</body></message>`,
			msgs: []string{"ct2/chat"},
		},
		"no type, spaces around =": {
			in:   streamHead + "<message\n\tid = 'ct3'\r\n from='a@b'><body/></message>",
			msgs: []string{"ct3/"},
		},
		"error bounce": {
			in:   streamHead + `<message type='error' id='ct4'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
			msgs: []string{"ct4/error"},
		},
		"nested messages are not stanzas": {
			in:   streamHead + `<message id='outer'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message id='inner'/></forwarded></received></message><message id='next'/>`,
			msgs: []string{"outer/", "next/"},
		},
		"other stanzas, comments, CDATA and > in values": {
			in: streamHead + `<presence from='a@b/c' id='p1'><status>a &lt;message id='no'/&gt;</status></presence>` +
				`<!-- <message id='no'/> --><iq type='get' id='x'><ping xmlns='urn:xmpp:ping'/></iq>` +
				`<message id='a>b' type="a'b"><body><![CDATA[</message><message id='no'>]]></body></message>`,
			msgs: []string{"a>b/a'b"},
		},
		"references in id": {
			in:   streamHead + `<message id='a&amp;b&#x41;&#66;&apos;&quot;&lt;&gt;'/>`,
			msgs: []string{`a&bAB'"<>/`},
		},
		"restarted stream resets depth": {
			in:   streamHead + `<stream:features/><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>` + streamHead + `<message id='after'/>`,
			msgs: []string{"after/"},
		},
		"end of stream": {
			in:    streamHead + `<message id='m'/></stream:stream><message id='ignored'/>`,
			msgs:  []string{"m/"},
			ended: true,
		},
		"stream error": {
			in:   streamHead + `<message id='m'/><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error><message id='no'/>`,
			msgs: []string{"m/"},
			err:  errStreamError,
		},
		"unknown entity": {
			in:  streamHead + `<message id='&foo;'/>`,
			err: errors.New("unknown reference &foo; in an attribute value"),
		},
		"unquoted attribute": {
			in:  streamHead + `<message id=ct5/>`,
			err: errors.New("unquoted attribute value in a message start tag"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 2, 3, 7, 64} {
				got := scanAll([]byte(tc.in), chunk)
				wantErr := ""
				if tc.err != nil {
					wantErr = tc.err.Error()
				}
				if !slices.Equal(got.msgs, tc.msgs) || got.ended != tc.ended || got.err != wantErr {
					t.Errorf("chunks of %d: got %+v, want msgs %q ended %v err %q", chunk, got, tc.msgs, tc.ended, wantErr)
				}
			}
		})
	}
}

func TestStanzaScannerLongConstruct(t *testing.T) {
	s := stanzaScanner{}
	if err := s.feed([]byte(streamHead + "<!-- " + strings.Repeat("x", maxMarkup))); err == nil {
		t.Fatal("an unterminated comment past maxMarkup was accepted")
	}
}

// oracle is what encoding/xml's raw tokenizer finds under the scanner's
// rules (a prefixed "stream" start sets the depth to 1; messages and
// prefixed "error" elements count at depth 1; an end tag reaching depth 0
// ends the stream). ok is false when the input is not XML encoding/xml
// reads, or has constructs the scanner deliberately treats loosely.
func oracle(data []byte) (scanned, bool) {
	var out scanned
	for rest := data; ; {
		i := bytes.Index(rest, []byte("<!"))
		if i < 0 {
			break
		}
		rest = rest[i:]
		if !bytes.HasPrefix(rest, []byte("<!--")) && !bytes.HasPrefix(rest, []byte("<![CDATA[")) {
			// A DTD declaration (not allowed in XMPP): the scanner only
			// skips to its first '>', encoding/xml nests.
			return out, false
		}
		rest = rest[2:]
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return out, true
		}
		var se *xml.SyntaxError
		if errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF") {
			return out, true
		}
		if err != nil {
			return out, false
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if tk.Name.Space != "" && tk.Name.Local == "stream" {
				depth = 1
				continue
			}
			if depth == 1 {
				switch {
				case tk.Name.Space == "" && tk.Name.Local == "message":
					var id, typ string
					for _, a := range tk.Attr {
						if a.Name.Space == "" && a.Name.Local == "id" {
							id = a.Value
						}
						if a.Name.Space == "" && a.Name.Local == "type" {
							typ = a.Value
						}
					}
					out.msgs = append(out.msgs, id+"/"+typ)
				case tk.Name.Space != "" && tk.Name.Local == "error":
					out.err = errStreamError.Error()
					return out, true
				}
			}
			depth++
		case xml.EndElement:
			if depth > 0 {
				depth--
			}
			if depth == 0 {
				out.ended = true
				return out, true
			}
		case xml.Directive:
			// <!DOCTYPE …> and the like: the scanner only skips them.
			return out, false
		}
	}
}

func FuzzStanzaScanner(f *testing.F) {
	f.Add([]byte(streamHead+`<message type='chat' id='ct1' to='a@b'><body>x</body></message></stream:stream>`), uint8(3))
	f.Add([]byte(streamHead+`<message id="ct2" type="error"><error/></message><presence id='p'/>`), uint8(1))
	f.Add([]byte(streamHead+`<!-- c --><![CDATA[x]]><?pi x?><message id='a&amp;b'/>`), uint8(5))
	f.Add([]byte(streamHead+`<stream:error><conflict/></stream:error>`), uint8(0))
	f.Add([]byte(streamHead+streamHead+`<message id='x' type='a>b'/>`), uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		whole := scanAll(data, 0)
		split := scanAll(data, int(chunk))
		if fmt.Sprint(whole) != fmt.Sprint(split) {
			t.Fatalf("fed whole: %+v; in chunks of %d: %+v", whole, chunk, split)
		}
		want, ok := oracle(data)
		if !ok {
			return // the scanner is only held to input encoding/xml reads
		}
		if !slices.Equal(whole.msgs, want.msgs) || whole.ended != want.ended || whole.err != want.err {
			t.Fatalf("scanner %+v, encoding/xml %+v", whole, want)
		}
	})
}
