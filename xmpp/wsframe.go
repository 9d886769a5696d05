package xmpp

import (
	"bytes"
	"encoding/xml"
	"strings"

	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// nsFraming is the namespace of RFC 7395's <open/> and <close/>.
const nsFraming = "urn:ietf:params:xml:ns:xmpp-framing"

// closeMessage ends a stream over WebSocket (RFC 7395 §3.6).
const closeMessage = `<close xmlns="` + nsFraming + `"/>`

// unitKind classifies one top-level piece of an XML byte stream.
type unitKind int

const (
	unitSpace       unitKind = iota // white space between elements
	unitText                        // other character data at the top level
	unitMisc                        // processing instruction, comment, directive
	unitElement                     // one complete element
	unitStreamOpen                  // a <stream:stream ...> start tag
	unitStreamClose                 // an end tag at the top level (</stream:stream>)
)

// scanUnit finds the first top-level unit of b. It returns the unit's kind
// and length, or ok false when b holds only the beginning of one. It does
// not check well-formedness (the decoder above the framing adapter does);
// it only finds where top-level units begin and end, honouring quoted
// attribute values, comments and CDATA sections.
func scanUnit(b []byte) (kind unitKind, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if isSpace(b[0]) {
		for n < len(b) && isSpace(b[n]) {
			n++
		}
		return unitSpace, n, true
	}
	if b[0] != '<' {
		if i := bytes.IndexByte(b, '<'); i >= 0 {
			return unitText, i, true
		}
		return unitText, len(b), true
	}
	depth, i := 0, 0
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return 0, 0, false
		}
		i += j
		rest := b[i:]
		var end int
		var misc bool
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			end, misc = indexAfter(rest, "?>"), true
		case bytes.HasPrefix(rest, []byte("<!--")):
			end, misc = indexAfter(rest, "-->"), true
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end, misc = indexAfter(rest, "]]>"), true
		case len(rest) < 9 && bytes.HasPrefix([]byte("<![CDATA["), rest):
			return 0, 0, false
		case bytes.HasPrefix(rest, []byte("<!")):
			end, misc = indexAfter(rest, ">"), true
		case bytes.HasPrefix(rest, []byte("</")):
			if end = indexAfter(rest, ">"); end < 0 {
				return 0, 0, false
			}
			i += end
			if depth == 0 {
				return unitStreamClose, i, true
			}
			if depth--; depth == 0 {
				return unitElement, i, true
			}
			continue
		default:
			if end = tagEnd(rest); end < 0 {
				return 0, 0, false
			}
			self := rest[end-2] == '/'
			i += end
			if depth == 0 && !self && tagName(rest) == "stream:stream" {
				return unitStreamOpen, i, true
			}
			if self {
				if depth == 0 {
					return unitElement, i, true
				}
				continue
			}
			depth++
			continue
		}
		if end < 0 {
			return 0, 0, false
		}
		i += end
		if misc && depth == 0 {
			return unitMisc, i, true
		}
	}
	return 0, 0, false
}

// indexAfter returns the index just past the first sep in b, or -1.
func indexAfter(b []byte, sep string) int {
	i := bytes.Index(b, []byte(sep))
	if i < 0 {
		return -1
	}
	return i + len(sep)
}

// tagEnd returns the index just past the '>' ending the start tag that b
// begins with, skipping quoted attribute values, or -1.
func tagEnd(b []byte) int {
	var quote byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return -1
}

// tagName returns the qualified name of the tag b begins with.
func tagName(b []byte) string {
	i := 1
	for i < len(b) && !isSpace(b[i]) && b[i] != '>' && b[i] != '/' {
		i++
	}
	return string(b[1:i])
}

// attrNames returns the attribute names of the start tag b begins with.
func attrNames(b []byte) []string {
	end := tagEnd(b)
	if end < 0 {
		return nil
	}
	b = b[:end]
	i := 1 + len(tagName(b))
	var names []string
	for i < len(b) {
		for i < len(b) && (isSpace(b[i]) || b[i] == '/' || b[i] == '>') {
			i++
		}
		start := i
		for i < len(b) && b[i] != '=' && !isSpace(b[i]) && b[i] != '>' {
			i++
		}
		if i > start {
			names = append(names, string(b[start:i]))
		}
		for i < len(b) && b[i] != '"' && b[i] != '\'' && b[i] != '>' {
			i++
		}
		if i < len(b) && (b[i] == '"' || b[i] == '\'') {
			q := b[i]
			i++
			for i < len(b) && b[i] != q {
				i++
			}
			i++
		}
	}
	return names
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// outFramer turns the server's side of a c2s stream, as the negotiation
// and the session writer produce it, into RFC 7395 messages: the stream
// header becomes <open/>, the stream end <close/>, and every top-level
// element becomes one message carrying the namespace declarations it
// inherited from the stream (RFC 7395 §3.3.3). It keeps an incomplete
// unit until the next write completes it.
type outFramer struct {
	pending []byte
	// open is true between the server's <open/> and its <close/>.
	open bool
}

// frames appends b and returns the complete messages it yields.
func (f *outFramer) frames(b []byte) [][]byte {
	f.pending = append(f.pending, b...)
	var out [][]byte
	for {
		kind, n, ok := scanUnit(f.pending)
		if !ok {
			break
		}
		unit := f.pending[:n]
		switch kind {
		case unitStreamOpen:
			out = append(out, openFromHeader(unit))
			f.open = true
		case unitStreamClose:
			out = append(out, []byte(closeMessage))
			f.open = false
		case unitElement:
			out = append(out, withNamespace(unit))
		}
		f.pending = f.pending[n:]
	}
	if len(f.pending) == 0 {
		f.pending = nil
	}
	return out
}

// openFromHeader renders the server's stream header as <open/>.
func openFromHeader(tag []byte) []byte {
	var b strings.Builder
	b.WriteString(`<open xmlns="` + nsFraming + `"`)
	tok, err := xml.NewDecoder(bytes.NewReader(tag)).Token()
	if se, ok := tok.(xml.StartElement); err == nil && ok {
		for _, a := range se.Attr {
			name := a.Name.Local
			switch {
			case a.Name.Space == "xmlns" || name == "xmlns":
				continue
			case a.Name.Space == "xml" || a.Name.Space == "http://www.w3.org/XML/1998/namespace":
				name = "xml:" + name
			case a.Name.Space != "":
				continue
			}
			b.WriteString(" " + name + `="` + xmppmap.Escape(a.Value) + `"`)
		}
	}
	b.WriteString("/>")
	return []byte(b.String())
}

// withNamespace adds to a top-level element the namespace it inherits
// from the stream: xmlns:stream for stream-level elements, jabber:client
// for the rest when it declares no default namespace.
func withNamespace(el []byte) []byte {
	name := tagName(el)
	var decl string
	attrs := attrNames(el)
	switch {
	case strings.HasPrefix(name, "stream:"):
		if !contains(attrs, "xmlns:stream") {
			decl = ` xmlns:stream="` + nsStream + `"`
		}
	case !strings.Contains(name, ":") && !contains(attrs, "xmlns"):
		decl = ` xmlns="` + nsClient + `"`
	}
	if decl == "" {
		return bytes.Clone(el)
	}
	at := 1 + len(name)
	out := make([]byte, 0, len(el)+len(decl))
	out = append(out, el[:at]...)
	out = append(out, decl...)
	return append(out, el[at:]...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// inFrame turns one client message into bytes of the c2s stream the
// transport reads: <open/> becomes a stream header, <close/> the stream
// end, and any other element passes as is. A message must hold exactly one
// complete element (RFC 7395 §3.3.3), optionally after an XML declaration;
// anything else is not well-formed.
func inFrame(msg []byte) ([]byte, error) {
	var el []byte
	for rest := msg; len(rest) > 0; {
		kind, n, ok := scanUnit(rest)
		if !ok {
			return nil, newStreamError(condNotWellFormed, "incomplete element in a websocket message")
		}
		switch {
		case kind == unitSpace:
		case kind == unitMisc && el == nil && bytes.HasPrefix(rest, []byte("<?xml ")):
		case kind == unitElement && el == nil:
			el = rest[:n]
		default:
			return nil, newStreamError(condNotWellFormed, "a websocket message must carry exactly one element")
		}
		rest = rest[n:]
	}
	if el == nil {
		return nil, nil // white space only: nothing for the stream
	}
	switch tagName(el) {
	case "open", "close":
	default:
		return el, nil
	}
	tok, err := xml.NewDecoder(bytes.NewReader(el)).Token()
	se, ok := tok.(xml.StartElement)
	if err != nil || !ok {
		return nil, newStreamError(condNotWellFormed, "framing element")
	}
	if se.Name.Space != nsFraming {
		return el, nil
	}
	if se.Name.Local == "close" {
		return []byte("</stream:stream>"), nil
	}
	var b strings.Builder
	b.WriteString("<stream:stream xmlns='" + nsClient + "' xmlns:stream='" + nsStream + "'")
	for _, a := range se.Attr {
		switch {
		case a.Name.Space == "" && (a.Name.Local == "to" || a.Name.Local == "from" || a.Name.Local == "version" || a.Name.Local == "id"):
			b.WriteString(" " + a.Name.Local + "='" + xmppmap.Escape(a.Value) + "'")
		case a.Name.Local == "lang" && (a.Name.Space == "xml" || a.Name.Space == "http://www.w3.org/XML/1998/namespace"):
			b.WriteString(" xml:lang='" + xmppmap.Escape(a.Value) + "'")
		}
	}
	b.WriteString(">")
	return []byte(b.String()), nil
}
