package xmppmap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// NSClient is the namespace of client stanzas (RFC 6120 §4.8.3).
const NSClient = "jabber:client"

// nsXML is the namespace bound to the xml: prefix.
const nsXML = "http://www.w3.org/XML/1998/namespace"

// ErrNotStanza reports XML that is not a message, presence or iq element.
var ErrNotStanza = errors.New("xmppmap: not a stanza")

// Stanza is one top-level stanza kept as close to its wire form as
// possible: its element name, its attributes in order and its inner XML
// byte for byte, so that re-serialising it loses no extension element.
type Stanza struct {
	// Name is "message", "presence" or "iq".
	Name string
	// Attrs are the stanza's attributes; xml:lang has Space "xml" and
	// namespace declarations Space "xmlns".
	Attrs []xml.Attr
	// Inner is the raw XML between the start and end tags.
	Inner []byte

	// texts, when textsKnown, are the child elements' own character data
	// as the stream's decoder found them (SetChildTexts), so that ToMessage
	// need not decode Inner again.
	texts      []ChildText
	textsKnown bool
	// children, when childrenKnown, are the child elements as the
	// stream's decoder found them (SetChildren) in childrenOf, the Inner
	// they were found in: once Inner is replaced, Children decodes it.
	children      []Element
	childrenOf    []byte
	childrenKnown bool
}

// ChildText is one child element of a stanza and its own character data
// (not that of elements inside it), in document order.
type ChildText struct {
	Name xml.Name
	Text string
}

// SetChildTexts records the stanza's children and their texts, found by the
// decoder that read the stanza from its stream, with namespaces resolved in
// the stream's scope: one entry per child element, in order. ToMessage
// then takes body, subject and thread from them instead of decoding Inner
// again.
func (s *Stanza) SetChildTexts(texts []ChildText) {
	s.texts, s.textsKnown = texts, true
}

// SetChildren records the stanza's child elements, found by the decoder
// that read the stanza from its stream, with namespaces resolved in the
// stream's scope and each Inner a slice of the stanza's Inner: Children
// then returns them instead of decoding Inner again, as long as Inner is
// not replaced.
func (s *Stanza) SetChildren(children []Element) {
	s.children, s.childrenOf, s.childrenKnown = children, s.Inner, true
}

type rawStanza struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   []byte     `xml:",innerxml"`
}

// ParseStanza parses one serialised stanza. The bytes must already have
// passed the stream's limits (internal/xmlguard); the namespace of the
// stanza element is taken to be jabber:client.
func ParseStanza(raw []byte) (Stanza, error) {
	var r rawStanza
	if err := xml.Unmarshal(raw, &r); err != nil {
		return Stanza{}, fmt.Errorf("xmppmap: %w", err)
	}
	return NewStanza(xml.StartElement{Name: r.XMLName, Attr: r.Attrs}, r.Inner)
}

// NewStanza makes a stanza of a start tag already decoded (with namespaces
// resolved, as an xml.Decoder's Token gives it) and the exact bytes between
// its start and end tags, which must be well-formed: what ParseStanza
// gives for the same element, without parsing it again. The stanza keeps
// inner, not a copy.
func NewStanza(start xml.StartElement, inner []byte) (Stanza, error) {
	switch start.Name.Local {
	case "message", "presence", "iq":
	default:
		return Stanza{}, fmt.Errorf("%w: <%s/>", ErrNotStanza, start.Name.Local)
	}
	if start.Name.Space != "" && start.Name.Space != NSClient {
		return Stanza{}, fmt.Errorf("%w: namespace %q", ErrNotStanza, start.Name.Space)
	}
	s := Stanza{Name: start.Name.Local, Inner: inner}
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			continue // the default namespace is the stream's
		case a.Name.Space == "xmlns":
		case a.Name.Space == nsXML || a.Name.Space == "xml":
			a.Name.Space = "xml"
		case a.Name.Space != "":
			continue // attributes in other namespaces are not ours to keep
		}
		s.Attrs = append(s.Attrs, a)
	}
	return s, nil
}

func (s *Stanza) find(name string) int {
	space, local := "", name
	if p, l, ok := strings.Cut(name, ":"); ok {
		space, local = p, l
	}
	for i, a := range s.Attrs {
		if a.Name.Local == local && a.Name.Space == space {
			return i
		}
	}
	return -1
}

// Attr returns an attribute's value ("xml:lang" for the language), or "".
func (s *Stanza) Attr(name string) string {
	if i := s.find(name); i >= 0 {
		return s.Attrs[i].Value
	}
	return ""
}

// SetAttr sets an attribute; an empty value removes it.
func (s *Stanza) SetAttr(name, value string) {
	i := s.find(name)
	switch {
	case i >= 0 && value == "":
		s.Attrs = append(s.Attrs[:i:i], s.Attrs[i+1:]...)
	case i >= 0:
		s.Attrs = append([]xml.Attr(nil), s.Attrs...)
		s.Attrs[i].Value = value
	case value != "":
		space, local := "", name
		if p, l, ok := strings.Cut(name, ":"); ok {
			space, local = p, l
		}
		s.Attrs = append(s.Attrs[:len(s.Attrs):len(s.Attrs)], xml.Attr{Name: xml.Name{Space: space, Local: local}, Value: value})
	}
}

// Bytes serialises the stanza without a namespace declaration of its own,
// ready to be written into a jabber:client stream.
func (s *Stanza) Bytes() []byte {
	var b bytes.Buffer
	b.Grow(len(s.Inner) + 32*len(s.Attrs) + 2*len(s.Name) + 8)
	b.WriteByte('<')
	b.WriteString(s.Name)
	for _, a := range s.Attrs {
		b.WriteByte(' ')
		if a.Name.Space != "" {
			b.WriteString(a.Name.Space)
			b.WriteByte(':')
		}
		b.WriteString(a.Name.Local)
		b.WriteString("='")
		escape(&b, a.Value)
		b.WriteByte('\'')
	}
	if len(s.Inner) == 0 {
		b.WriteString("/>")
		return b.Bytes()
	}
	b.WriteByte('>')
	b.Write(s.Inner)
	b.WriteString("</")
	b.WriteString(s.Name)
	b.WriteByte('>')
	return b.Bytes()
}

func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}

// Escape returns s escaped for use as XML text or a quoted attribute value.
// A string of printable ASCII without markup characters (ids, most
// addresses) is returned as it is, without a copy.
func Escape(s string) string {
	if plainASCII(s) {
		return s
	}
	var b bytes.Buffer
	escape(&b, s)
	return b.String()
}

// plainASCII reports whether s is printable ASCII with none of the
// characters escape changes: xml.EscapeText leaves such a string as it is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '<', c == '>', c == '&', c == '\'', c == '"':
			return false
		}
	}
	return true
}

// Element is one child element of a stanza, decoded with its inner XML.
type Element struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   []byte     `xml:",innerxml"`
}

// Attr returns an attribute's value, or "".
func (e *Element) Attr(local string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// Children decodes the stanza's child elements, with namespaces resolved
// against jabber:client as the default, or returns those SetChildren
// recorded.
func (s *Stanza) Children() ([]Element, error) {
	if s.childrenKnown && sameBytes(s.Inner, s.childrenOf) {
		return s.children, nil
	}
	if len(bytes.TrimSpace(s.Inner)) == 0 {
		return nil, nil // <presence/>, <iq type='result'/>: nothing to parse
	}
	var wrap struct {
		Children []Element `xml:",any"`
	}
	doc := make([]byte, 0, len(s.Inner)+40)
	doc = append(doc, "<w xmlns='jabber:client'>"...)
	doc = append(doc, s.Inner...)
	doc = append(doc, "</w>"...)
	if err := xml.Unmarshal(doc, &wrap); err != nil {
		return nil, fmt.Errorf("xmppmap: children of <%s/>: %w", s.Name, err)
	}
	return wrap.Children, nil
}

// sameBytes reports whether a and b are the same slice of the same array.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Text returns the character data of an element with no child elements.
func (e *Element) Text() string {
	if PlainText(e.Inner) {
		return string(e.Inner) // what the decoder would give, without it
	}
	return decodedText(e.Inner)
}

// PlainText reports whether b is character data that an XML decoder gives
// back byte for byte: valid UTF-8 of XML characters with no markup ('<'),
// no references ('&'), no carriage return (line ends are normalised) and
// no "]]>" (an error outside CDATA). Such text needs no decoder.
func PlainText(b []byte) bool {
	if bytes.Contains(b, []byte("]]>")) {
		return false
	}
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			if c == '<' || c == '&' || c == '\r' || c < 0x20 && c != '\t' && c != '\n' {
				return false
			}
			b = b[1:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 || r >= 0xD800 && r <= 0xDFFF || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		b = b[n:]
	}
	return true
}

// decodedText is the character data of inner as encoding/xml gives it, or
// "" when inner is not well-formed.
func decodedText(inner []byte) string {
	var v struct {
		Text string `xml:",chardata"`
	}
	doc := make([]byte, 0, len(inner)+8)
	doc = append(doc, "<t>"...)
	doc = append(doc, inner...)
	doc = append(doc, "</t>"...)
	if err := xml.Unmarshal(doc, &v); err != nil {
		return ""
	}
	return v.Text
}

// Embed returns a serialised stanza with an explicit jabber:client
// namespace, for wrapping inside another namespace (XEP-0297 forwarded,
// carbons, MAM results).
func Embed(stanza []byte) []byte {
	end := bytes.IndexAny(stanza, " />")
	if len(stanza) == 0 || stanza[0] != '<' || end < 0 || bytes.Contains(stanza[:bytes.IndexByte(stanza, '>')+1], []byte("xmlns='jabber:client'")) {
		return stanza
	}
	out := make([]byte, 0, len(stanza)+24)
	out = append(out, stanza[:end]...)
	out = append(out, " xmlns='jabber:client'"...)
	return append(out, stanza[end:]...)
}
