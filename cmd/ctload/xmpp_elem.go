package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Namespaces the raw login reads.
const (
	nsStreams   = "http://etherx.jabber.org/streams"
	nsStreamErr = "urn:ietf:params:xml:ns:xmpp-streams"
	nsTLS       = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL      = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind      = "urn:ietf:params:xml:ns:xmpp-bind"
	nsClient    = "jabber:client"
	nsXML       = "http://www.w3.org/XML/1998/namespace"
)

// maxElement bounds one top-level element (or stream header) the element
// reader holds.
const maxElement = 4 << 20

// elemKind is what elemReader.next read.
type elemKind int

const (
	// elemHeader is a stream header (<stream:stream …>, left open).
	elemHeader elemKind = iota + 1
	// elemWhole is a whole top-level element, in elemReader.nodes.
	elemWhole
	// elemEnd is the end of the stream (</stream:stream>).
	elemEnd
)

// xmlNode is one element of the top-level element an elemReader read;
// its slices are only valid until the next read.
type xmlNode struct {
	// depth is 0 for the top-level element, 1 for its children, …
	depth int
	// ns is the resolved namespace, local the local name.
	ns, local []byte
	// attrs is the start tag's raw attribute list (see attr).
	attrs []byte
	// text is the unescaped character data (and CDATA) directly inside
	// the element, after its last child element.
	text []byte
	// textAt, textEnd locate text in elemReader.text while parsing;
	// scope is the length of elemReader.scope before its declarations.
	textAt, textEnd, scope int
}

// is reports whether n is the element {ns}local.
func (n *xmlNode) is(ns, local string) bool {
	return string(n.local) == local && string(n.ns) == ns
}

// attr returns the unescaped value of the unprefixed attribute name, or
// nil when the element has none.
func (n *xmlNode) attr(name string) ([]byte, error) {
	a := n.attrs
	for {
		k, v, rest, err := nextAttr(a)
		if err != nil || k == nil {
			return nil, err
		}
		if string(k) == name {
			if bytes.IndexByte(v, '&') < 0 {
				return append([]byte{}, v...), nil
			}
			return appendUnescaped(nil, v)
		}
		a = rest
	}
}

// nsDecl is a namespace declaration in scope: prefix "" for the default.
type nsDecl struct{ prefix, uri []byte }

// elemReader reads an XMPP stream a top-level element at a time, for the
// raw login: it returns stream headers, whole top-level elements parsed
// into a flat list of nodes (namespaces resolved, attribute lists raw,
// character data unescaped) and the end of the stream. Between top-level
// elements it skips whitespace, comments and processing instructions (the
// XML declaration). It checks what it needs to read an element and no
// more: it is not a validating parser.
type elemReader struct {
	r io.Reader
	// buf[start:end] is read and not yet consumed.
	buf        []byte
	start, end int
	// header holds the declarations of the last stream header, backed by
	// headerTag, a copy of its start tag.
	header    []nsDecl
	headerTag []byte
	// nodes is the last top-level element read.
	nodes []xmlNode
	scope []nsDecl
	stack []int
	text  []byte
}

func newElemReader(r io.Reader) *elemReader {
	return &elemReader{r: r, buf: make([]byte, 4096)}
}

// reset makes the reader read a new stream from r (after STARTTLS).
func (e *elemReader) reset(r io.Reader) {
	e.r, e.start, e.end = r, 0, 0
	e.header, e.headerTag = e.header[:0], e.headerTag[:0]
}

// next reads the next stream header, top-level element or end of stream.
// The error is the reader's (io.EOF when the connection ends between
// elements, io.ErrUnexpectedEOF inside one) or markup it cannot read.
func (e *elemReader) next() (elemKind, error) {
	for {
		kind, n, err := e.parse(e.buf[e.start:e.end])
		if err != nil {
			return 0, err
		}
		if n >= 0 {
			e.start += n
			if kind != 0 {
				return kind, nil
			}
			continue
		}
		if err := e.fill(); err != nil {
			if errors.Is(err, io.EOF) && e.start < e.end {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
}

// fill reads more bytes, making room first.
func (e *elemReader) fill() error {
	if e.start > 0 {
		e.end = copy(e.buf, e.buf[e.start:e.end])
		e.start = 0
	}
	if e.end == len(e.buf) {
		if len(e.buf) >= maxElement {
			return fmt.Errorf("top-level element longer than %d bytes", maxElement)
		}
		e.buf = append(e.buf, make([]byte, len(e.buf))...)
	}
	n, err := e.r.Read(e.buf[e.end:])
	e.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// parse reads one construct at the start of b: it returns what it was (0
// for something skipped) and its length, or -1 when b does not hold all
// of it.
func (e *elemReader) parse(b []byte) (elemKind, int, error) {
	if len(b) == 0 {
		return 0, -1, nil
	}
	i := bytes.IndexByte(b, '<')
	if i < 0 {
		return 0, len(b), nil // text between elements: whitespace pings
	}
	if i > 0 {
		return 0, i, nil
	}
	if len(b) < 2 {
		return 0, -1, nil
	}
	switch b[1] {
	case '?':
		return 0, skipPast(b, "?>"), nil
	case '!':
		n, err := skipDecl(b)
		return 0, n, err
	case '/':
		return elemEnd, tagEnd(b), nil
	}
	n := tagEnd(b)
	if n < 0 {
		return 0, -1, nil
	}
	name, _ := tagName(b[1 : n-1])
	if prefix, local := splitName(name); len(prefix) > 0 && string(local) == "stream" {
		return elemHeader, n, e.streamHeader(b[:n])
	}
	n, err := e.element(b)
	if err != nil || n < 0 {
		return 0, n, err
	}
	return elemWhole, n, nil
}

// streamHeader keeps the namespace declarations of a stream header.
func (e *elemReader) streamHeader(tag []byte) error {
	e.headerTag = append(e.headerTag[:0], tag...)
	_, attrs := tagName(e.headerTag[1 : len(e.headerTag)-1])
	e.header = e.header[:0]
	var err error
	e.header, err = declare(e.header, attrs)
	return err
}

// element parses the whole element at the start of b into e.nodes and
// returns its length, or -1 when b does not hold all of it.
func (e *elemReader) element(b []byte) (int, error) {
	e.nodes, e.stack, e.text = e.nodes[:0], e.stack[:0], e.text[:0]
	e.scope = append(e.scope[:0], e.header...)
	pos := 0
	for {
		if len(e.stack) > 0 {
			i := bytes.IndexByte(b[pos:], '<')
			if i < 0 {
				return -1, nil
			}
			if i > 0 {
				var err error
				if e.text, err = appendUnescaped(e.textOf(), b[pos:pos+i]); err != nil {
					return 0, fmt.Errorf("%w in character data", err)
				}
				e.textDone()
				pos += i
			}
		}
		rest := b[pos:]
		if len(rest) < 2 {
			return -1, nil
		}
		var n int
		switch rest[1] {
		case '?':
			n = skipPast(rest, "?>")
		case '!':
			const cdata = "<![CDATA["
			if len(e.stack) > 0 && bytes.HasPrefix(rest, []byte(cdata)) {
				if n = skipPast(rest, "]]>"); n > 0 {
					e.text = append(e.textOf(), rest[len(cdata):n-3]...)
					e.textDone()
				}
				break
			}
			var err error
			if n, err = skipDecl(rest); err != nil {
				return 0, err
			}
		case '/':
			if n = tagEnd(rest); n > 0 && len(e.stack) > 0 {
				e.scope = e.scope[:e.nodes[e.stack[len(e.stack)-1]].scope]
				e.stack = e.stack[:len(e.stack)-1]
			}
		default:
			if n = tagEnd(rest); n > 0 {
				if err := e.startTag(rest[1 : n-1]); err != nil {
					return 0, err
				}
			}
		}
		if n < 0 {
			return -1, nil
		}
		pos += n
		if len(e.stack) == 0 && len(e.nodes) > 0 {
			for i := range e.nodes {
				nd := &e.nodes[i]
				nd.text = e.text[nd.textAt:nd.textEnd]
			}
			return pos, nil
		}
	}
}

// textOf returns e.text ready for more character data of the innermost
// open element: a run interrupted by a child element starts again.
func (e *elemReader) textOf() []byte {
	nd := &e.nodes[e.stack[len(e.stack)-1]]
	if nd.textEnd != len(e.text) {
		nd.textAt = len(e.text)
	}
	return e.text
}

// textDone ends the innermost open element's text at the end of e.text.
func (e *elemReader) textDone() {
	e.nodes[e.stack[len(e.stack)-1]].textEnd = len(e.text)
}

// startTag adds the element of a start tag (the inside of its < >).
func (e *elemReader) startTag(tag []byte) error {
	self := len(tag) > 0 && tag[len(tag)-1] == '/'
	if self {
		tag = tag[:len(tag)-1]
	}
	name, attrs := tagName(tag)
	if len(name) == 0 {
		return errors.New("start tag without a name")
	}
	at := len(e.text)
	nd := xmlNode{depth: len(e.stack), attrs: attrs, scope: len(e.scope), textAt: at, textEnd: at}
	if len(e.stack) > 0 {
		// The parent's text is what follows its last child.
		p := &e.nodes[e.stack[len(e.stack)-1]]
		p.textAt, p.textEnd = at, at
	}
	var err error
	if e.scope, err = declare(e.scope, attrs); err != nil {
		return err
	}
	prefix, local := splitName(name)
	nd.local = local
	if nd.ns, err = resolve(e.scope, prefix); err != nil {
		return err
	}
	e.nodes = append(e.nodes, nd)
	if self {
		e.scope = e.scope[:nd.scope]
	} else {
		e.stack = append(e.stack, len(e.nodes)-1)
	}
	return nil
}

// tagName splits the inside of a start tag into its name and attributes.
func tagName(tag []byte) (name, attrs []byte) {
	n := 0
	for n < len(tag) && !isSpace(tag[n]) {
		n++
	}
	return tag[:n], tag[n:]
}

// declare appends the namespace declarations of an attribute list.
func declare(scope []nsDecl, attrs []byte) ([]nsDecl, error) {
	for {
		k, v, rest, err := nextAttr(attrs)
		if err != nil {
			return scope, fmt.Errorf("%w in a start tag", err)
		}
		if k == nil {
			return scope, nil
		}
		attrs = rest
		switch {
		case string(k) == "xmlns":
			scope = append(scope, nsDecl{uri: v})
		case bytes.HasPrefix(k, []byte("xmlns:")):
			scope = append(scope, nsDecl{prefix: k[len("xmlns:"):], uri: v})
		}
	}
}

// resolve returns the namespace a prefix ("" for none) is bound to.
func resolve(scope []nsDecl, prefix []byte) ([]byte, error) {
	if string(prefix) == "xml" {
		return []byte(nsXML), nil
	}
	for i := len(scope) - 1; i >= 0; i-- {
		if bytes.Equal(scope[i].prefix, prefix) {
			return scope[i].uri, nil
		}
	}
	if len(prefix) == 0 {
		return nil, nil
	}
	return nil, fmt.Errorf("undeclared namespace prefix %q", prefix)
}

// top returns the top-level element last read.
func (e *elemReader) top() *xmlNode { return &e.nodes[0] }

// child returns the index in e.nodes of the first child of the top-level
// element named {ns}local, or -1.
func (e *elemReader) child(ns, local string) int {
	for i := 1; i < len(e.nodes); i++ {
		if e.nodes[i].depth == 1 && e.nodes[i].is(ns, local) {
			return i
		}
	}
	return -1
}

// children calls fn for each child of e.nodes[i].
func (e *elemReader) children(i int, fn func(*xmlNode)) {
	d := e.nodes[i].depth
	for j := i + 1; j < len(e.nodes) && e.nodes[j].depth > d; j++ {
		if e.nodes[j].depth == d+1 {
			fn(&e.nodes[j])
		}
	}
}

// condition describes an error element (a stream error, SASL failure or
// stanza error): the name of its first child in ns other than <text/>,
// and that text if any.
func (e *elemReader) condition(i int, ns string) string {
	var cond, text string
	e.children(i, func(n *xmlNode) {
		switch {
		case string(n.ns) != ns:
		case string(n.local) == "text":
			text = string(n.text)
		case cond == "":
			cond = string(n.local)
		}
	})
	if cond == "" {
		cond = "no condition"
	}
	if text != "" {
		return fmt.Sprintf("%s (%q)", cond, text)
	}
	return cond
}
