package xcap

import (
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// node is one element of an XCAP document: its expanded name, attributes
// (namespace declarations removed), element children and character data.
// Mixed content is not kept apart: the text of an element is the
// concatenation of its character data, which is all the application usages
// here put in an element (display names, sub-handling values).
type node struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*node
	text     string
}

// el builds a node.
func el(space, local string, attrs ...string) *node {
	n := &node{name: xml.Name{Space: space, Local: local}}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.attrs = append(n.attrs, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
	}
	return n
}

// add appends children and returns n.
func (n *node) add(children ...*node) *node {
	n.children = append(n.children, children...)
	return n
}

// withText sets the text and returns n.
func (n *node) withText(s string) *node {
	n.text = s
	return n
}

// attr returns an unqualified or qualified attribute's value.
func (n *node) attr(name xml.Name) (string, bool) {
	for _, a := range n.attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// setAttr sets or adds an attribute.
func (n *node) setAttr(name xml.Name, v string) {
	for i := range n.attrs {
		if n.attrs[i].Name == name {
			n.attrs[i].Value = v
			return
		}
	}
	n.attrs = append(n.attrs, xml.Attr{Name: name, Value: v})
}

// delAttr removes an attribute and reports whether it was there.
func (n *node) delAttr(name xml.Name) bool {
	for i := range n.attrs {
		if n.attrs[i].Name == name {
			n.attrs = append(n.attrs[:i], n.attrs[i+1:]...)
			return true
		}
	}
	return false
}

// UnmarshalXML reads an element and its subtree from a decoder that the
// caller has wrapped in internal/xmlguard, which bounds the depth of this
// recursion and the size of the input. A name whose prefix is bound
// nowhere is refused (encoding/xml would keep the prefix as if it were a
// namespace).
func (n *node) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	return n.read(d, start, map[string]bool{nsXML: true})
}

func (n *node) read(d *xml.Decoder, start xml.StartElement, bound map[string]bool) error {
	scope, cloned := bound, false
	for _, a := range start.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			if !cloned {
				scope, cloned = maps.Clone(bound), true
			}
			scope[a.Value] = true
		}
	}
	if start.Name.Space != "" && !scope[start.Name.Space] {
		return fmt.Errorf("element <%s>: %w", start.Name.Local, errUnboundPrefix)
	}
	n.name = start.Name
	for _, a := range start.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if a.Name.Space != "" && !scope[a.Name.Space] {
			return fmt.Errorf("attribute %s: %w", a.Name.Local, errUnboundPrefix)
		}
		n.attrs = append(n.attrs, a)
	}
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("element <%s>: %w", start.Name.Local, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			c := &node{}
			if err := c.read(d, t, scope); err != nil {
				return err
			}
			n.children = append(n.children, c)
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			n.text = text.String()
			if len(n.children) > 0 && strings.TrimSpace(n.text) == "" {
				n.text = ""
			}
			return nil
		}
	}
}

// errUnboundPrefix reports a prefix without a namespace declaration.
var errUnboundPrefix = errors.New("namespace prefix is not declared")

// inheritNamespace puts elements in no namespace into space: an element a
// client PUTs without declaring a namespace takes that of its new parent.
func (n *node) inheritNamespace(space string) {
	if n.name.Space == "" {
		n.name.Space = space
	}
	for _, c := range n.children {
		c.inheritNamespace(n.name.Space)
	}
}

// prefixes are the prefixes used when serialising well-known namespaces.
var prefixes = map[string]string{
	nsResourceLists: "rl", nsRLS: "rls", nsCommonPolicy: "cp", nsPresRules: "pr",
	nsXCAPCaps: "xc", nsXCAPError: "xe",
}

// nsXML is the namespace bound to the reserved prefix xml.
const nsXML = "http://www.w3.org/XML/1998/namespace"

// serializer writes a tree with every namespace declared once, on the
// outermost element: the root's namespace is the default one, and every
// other namespace an element or attribute needs gets a prefix (its
// well-known one, or ns1, ns2, …). An element in no namespace below a
// defaulted one resets the default with xmlns="".
type serializer struct {
	root   string
	prefix map[string]string
}

func newSerializer(root *node) *serializer {
	s := &serializer{root: root.name.Space, prefix: map[string]string{nsXML: "xml"}}
	need := map[string]bool{}
	s.collect(root, root.name.Space, need)
	spaces := make([]string, 0, len(need))
	for sp := range need {
		spaces = append(spaces, sp)
	}
	sort.Strings(spaces)
	taken := map[string]bool{"xml": true}
	n := 0
	for _, sp := range spaces {
		if _, ok := s.prefix[sp]; ok {
			continue
		}
		p, ok := prefixes[sp]
		for !ok || taken[p] {
			n++
			p, ok = fmt.Sprintf("ns%d", n), true
		}
		s.prefix[sp], taken[p] = p, true
	}
	return s
}

// collect finds the namespaces that need a prefix, walking as write does.
func (s *serializer) collect(n *node, def string, need map[string]bool) {
	switch {
	case n.name.Space == "":
		def = ""
	case n.name.Space != def:
		need[n.name.Space] = true
	}
	for _, a := range n.attrs {
		if a.Name.Space != "" {
			need[a.Name.Space] = true
		}
	}
	for _, c := range n.children {
		s.collect(c, def, need)
	}
}

// name returns an element's or attribute's qualified name under the
// default namespace def.
func (s *serializer) name(name xml.Name, def string, attr bool) string {
	if name.Space == "" || (!attr && name.Space == def) {
		return name.Local
	}
	return s.prefix[name.Space] + ":" + name.Local
}

// declarations renders the namespace declarations of the outermost element.
func (s *serializer) declarations() string {
	decl := make([]string, 0, len(s.prefix)+1)
	if s.root != "" {
		decl = append(decl, ` xmlns="`+sipmap.XMLText(s.root)+`"`)
	}
	var more []string
	for sp, p := range s.prefix {
		if p != "xml" {
			more = append(more, ` xmlns:`+p+`="`+sipmap.XMLText(sp)+`"`)
		}
	}
	sort.Strings(more)
	return strings.Join(append(decl, more...), "")
}

// encode serialises n as a standalone element with its declarations.
func (n *node) encode() []byte {
	s := newSerializer(n)
	var b strings.Builder
	s.write(&b, n, s.root, true)
	return []byte(b.String())
}

// document serialises n as a whole document with an XML declaration.
func (n *node) document() []byte {
	return append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), append(n.encode(), '\n')...)
}

func (s *serializer) write(b *strings.Builder, n *node, def string, root bool) {
	tag := s.name(n.name, def, false)
	b.WriteString("<" + tag)
	if root {
		b.WriteString(s.declarations())
	} else if n.name.Space == "" && def != "" {
		b.WriteString(` xmlns=""`)
	}
	if n.name.Space == "" {
		def = ""
	}
	for _, a := range n.attrs {
		b.WriteString(" " + s.name(a.Name, def, true) + `="` + attrEscape(a.Value) + `"`)
	}
	if len(n.children) == 0 && n.text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	b.WriteString(sipmap.XMLText(n.text))
	for _, c := range n.children {
		s.write(b, c, def, false)
	}
	b.WriteString("</" + tag + ">")
}

// attrEscape escapes an attribute value, keeping tabs and newlines as
// character references so that they survive attribute normalisation.
func attrEscape(s string) string {
	s = sipmap.XMLText(s)
	return strings.NewReplacer("\n", "&#xA;", "\t", "&#x9;").Replace(s)
}
