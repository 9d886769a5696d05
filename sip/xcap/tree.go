package xcap

import (
	"encoding/xml"
	"fmt"
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
// recursion and the size of the input.
func (n *node) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	n.name = start.Name
	for _, a := range start.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
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
			if err := c.UnmarshalXML(d, t); err != nil {
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
	nsXCAPCaps: "xc", nsXCAPError: "xe", "http://www.w3.org/XML/1998/namespace": "xml",
}

// namespaces collects the namespaces used in a subtree.
func (n *node) namespaces(into map[string]bool) {
	into[n.name.Space] = true
	for _, a := range n.attrs {
		if a.Name.Space != "" {
			into[a.Name.Space] = true
		}
	}
	for _, c := range n.children {
		c.namespaces(into)
	}
}

// prefixMap assigns prefixes: the root's namespace is the default one, the
// others get their well-known prefix or ns1, ns2, …
func prefixMap(root *node) map[string]string {
	used := map[string]bool{}
	root.namespaces(used)
	spaces := make([]string, 0, len(used))
	for s := range used {
		spaces = append(spaces, s)
	}
	sort.Strings(spaces)
	m := map[string]string{root.name.Space: ""}
	n := 0
	for _, s := range spaces {
		if _, done := m[s]; done || s == "" {
			continue
		}
		if p, ok := prefixes[s]; ok {
			m[s] = p
			continue
		}
		n++
		m[s] = fmt.Sprintf("ns%d", n)
	}
	return m
}

// encode serialises n as a standalone element: every namespace it uses is
// declared on it, its own as the default namespace.
func (n *node) encode() []byte {
	m := prefixMap(n)
	var b strings.Builder
	n.write(&b, m, true)
	return []byte(b.String())
}

// document serialises n as a whole document with an XML declaration.
func (n *node) document() []byte {
	return append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), append(n.encode(), '\n')...)
}

func qname(m map[string]string, name xml.Name, attr bool) string {
	if name.Space == "" || (!attr && m[name.Space] == "") {
		return name.Local
	}
	return m[name.Space] + ":" + name.Local
}

func (n *node) write(b *strings.Builder, m map[string]string, root bool) {
	tag := qname(m, n.name, false)
	b.WriteString("<" + tag)
	if root {
		if n.name.Space != "" {
			b.WriteString(` xmlns="` + sipmap.XMLText(n.name.Space) + `"`)
		}
		decl := make([]string, 0, len(m))
		for s, p := range m {
			if p != "" && p != "xml" {
				decl = append(decl, ` xmlns:`+p+`="`+sipmap.XMLText(s)+`"`)
			}
		}
		sort.Strings(decl)
		for _, d := range decl {
			b.WriteString(d)
		}
	}
	for _, a := range n.attrs {
		b.WriteString(" " + qname(m, a.Name, true) + `="` + attrEscape(a.Value) + `"`)
	}
	if len(n.children) == 0 && n.text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	b.WriteString(sipmap.XMLText(n.text))
	for _, c := range n.children {
		c.write(b, m, false)
	}
	b.WriteString("</" + tag + ">")
}

// attrEscape escapes an attribute value, keeping tabs and newlines as
// character references so that they survive attribute normalisation.
func attrEscape(s string) string {
	s = sipmap.XMLText(s)
	return strings.NewReplacer("\n", "&#xA;", "\t", "&#x9;").Replace(s)
}
