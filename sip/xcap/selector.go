package xcap

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadSelector reports a node selector that does not parse (RFC 4825
// §6.3) or uses a namespace prefix bound nowhere (§6.4).
var ErrBadSelector = errors.New("xcap: bad node selector")

// Limits of the selector parser, so that no URI costs more than it says.
const (
	maxSelectorLen   = 4096
	maxSelectorSteps = 32
	maxPosition      = 1 << 20
)

// terminal says what the end of a node selector selects.
type terminal uint8

const (
	termElement   terminal = iota // the element of the last step
	termAttribute                 // an attribute of it (@name)
	termNamespace                 // its namespace bindings (namespace::*)
)

// step is one location step of an element selector: a name test (Local "*"
// for any element), an optional position and an optional attribute test,
// in that order (RFC 4825 §6.3, by-pos-attr tests the position first).
type step struct {
	name     xml.Name
	any      bool
	pos      int // 1-based; 0 for none
	hasAttr  bool
	attrName xml.Name
	attrVal  string
}

// selector is a parsed node selector.
type selector struct {
	steps []step
	term  terminal
	attr  xml.Name // for termAttribute
}

// parseSelector parses a percent-decoded node selector. defaultNS is the
// application usage's default document namespace, which unprefixed element
// names take (§6.4); prefixes resolve through ns, the bindings from the
// query component's xmlns() expressions.
func parseSelector(s, defaultNS string, ns map[string]string) (*selector, error) {
	if len(s) > maxSelectorLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrBadSelector, maxSelectorLen)
	}
	parts, err := splitSteps(s)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 || len(parts) > maxSelectorSteps+1 {
		return nil, fmt.Errorf("%w: %d steps", ErrBadSelector, len(parts))
	}
	sel := &selector{}
	last := parts[len(parts)-1]
	switch {
	case last == "namespace::*":
		sel.term, parts = termNamespace, parts[:len(parts)-1]
	case strings.HasPrefix(last, "@"):
		name, err := resolve(last[1:], "", ns)
		if err != nil {
			return nil, err
		}
		sel.term, sel.attr, parts = termAttribute, name, parts[:len(parts)-1]
	}
	if len(parts) == 0 || len(parts) > maxSelectorSteps {
		return nil, fmt.Errorf("%w: no element step", ErrBadSelector)
	}
	for _, p := range parts {
		st, err := parseStep(p, defaultNS, ns)
		if err != nil {
			return nil, err
		}
		sel.steps = append(sel.steps, st)
	}
	return sel, nil
}

// splitSteps splits on the slashes outside quoted attribute values.
func splitSteps(s string) ([]string, error) {
	var parts []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '/':
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%w: unterminated quote", ErrBadSelector)
	}
	parts = append(parts, s[start:])
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%w: empty step", ErrBadSelector)
		}
	}
	return parts, nil
}

// parseStep parses NameorAny ["[" position "]"] ["[" attr-test "]"].
func parseStep(p, defaultNS string, ns map[string]string) (step, error) {
	var st step
	i := strings.IndexByte(p, '[')
	nameStr, rest := p, ""
	if i >= 0 {
		nameStr, rest = p[:i], p[i:]
	}
	if nameStr == "*" {
		st.any = true
	} else {
		name, err := resolve(nameStr, defaultNS, ns)
		if err != nil {
			return step{}, err
		}
		st.name = name
	}
	for n := 0; rest != "" && n < 2; n++ {
		pred, after, err := cutPredicate(rest)
		if err != nil {
			return step{}, err
		}
		rest = after
		switch {
		case strings.HasPrefix(pred, "@"):
			if st.hasAttr {
				return step{}, fmt.Errorf("%w: two attribute tests in %q", ErrBadSelector, p)
			}
			if err := st.parseAttrTest(pred[1:], ns); err != nil {
				return step{}, err
			}
		default:
			if st.pos != 0 || st.hasAttr {
				return step{}, fmt.Errorf("%w: position must come first and once in %q", ErrBadSelector, p)
			}
			pos, err := strconv.Atoi(pred)
			if err != nil || pos < 1 || pos > maxPosition || strings.TrimLeft(pred, "0123456789") != "" {
				return step{}, fmt.Errorf("%w: bad position %q", ErrBadSelector, pred)
			}
			st.pos = pos
		}
	}
	if rest != "" {
		return step{}, fmt.Errorf("%w: trailing %q", ErrBadSelector, rest)
	}
	return st, nil
}

// cutPredicate takes "[...]" off the front of s, respecting quotes.
func cutPredicate(s string) (pred, rest string, err error) {
	if !strings.HasPrefix(s, "[") {
		return "", "", fmt.Errorf("%w: expected [ in %q", ErrBadSelector, s)
	}
	var quote byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == ']':
			return s[1:i], s[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("%w: unterminated predicate", ErrBadSelector)
}

// parseAttrTest parses att-name "=" AttValue.
func (st *step) parseAttrTest(t string, ns map[string]string) error {
	name, val, ok := strings.Cut(t, "=")
	if !ok || len(val) < 2 || (val[0] != '"' && val[0] != '\'') || val[len(val)-1] != val[0] {
		return fmt.Errorf("%w: bad attribute test %q", ErrBadSelector, t)
	}
	an, err := resolve(name, "", ns)
	if err != nil {
		return err
	}
	v, err := unescapeAttValue(val[1 : len(val)-1])
	if err != nil {
		return err
	}
	st.hasAttr, st.attrName, st.attrVal = true, an, v
	return nil
}

// unescapeAttValue resolves the references an XML AttValue may hold.
func unescapeAttValue(v string) (string, error) {
	if !strings.Contains(v, "&") {
		if strings.ContainsAny(v, "<") {
			return "", fmt.Errorf("%w: '<' in attribute value", ErrBadSelector)
		}
		return v, nil
	}
	var out struct {
		V string `xml:"v,attr"`
	}
	if err := xml.Unmarshal([]byte(`<a v="`+strings.ReplaceAll(v, `"`, "&quot;")+`"/>`), &out); err != nil {
		return "", fmt.Errorf("%w: attribute value: %w", ErrBadSelector, err)
	}
	return out.V, nil
}

// resolve turns a QName into an expanded name. Unprefixed element names take
// defaultNS; unprefixed attribute names (defaultNS "") no namespace.
func resolve(q, defaultNS string, ns map[string]string) (xml.Name, error) {
	prefix, local, ok := strings.Cut(q, ":")
	if !ok {
		prefix, local = "", q
	}
	if !isNCName(local) || (ok && !isNCName(prefix)) {
		return xml.Name{}, fmt.Errorf("%w: bad name %q", ErrBadSelector, q)
	}
	if !ok {
		return xml.Name{Space: defaultNS, Local: local}, nil
	}
	if prefix == "xml" {
		return xml.Name{Space: "http://www.w3.org/XML/1998/namespace", Local: local}, nil
	}
	space, bound := ns[prefix]
	if !bound {
		return xml.Name{}, fmt.Errorf("%w: prefix %q is not bound", ErrBadSelector, prefix)
	}
	return xml.Name{Space: space, Local: local}, nil
}

// isNCName is a conservative NCName test: a letter or '_' first, then
// letters, digits, '.', '-', '_' (non-ASCII letters allowed).
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r >= 0x80
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && r != '.' && r != '-' {
			return false
		}
	}
	return true
}

// parseNamespaceBindings reads the query component of an XCAP URI:
// xmlns(prefix=namespace) expressions, one after another (RFC 4825 §6.4).
func parseNamespaceBindings(q string) (map[string]string, error) {
	ns := map[string]string{}
	for n := 0; q != "" && n < 64; n++ {
		if !strings.HasPrefix(q, "xmlns(") {
			return nil, fmt.Errorf("%w: query %q is not xmlns()", ErrBadSelector, q)
		}
		end := strings.IndexByte(q, ')')
		if end < 0 {
			return nil, fmt.Errorf("%w: unterminated xmlns()", ErrBadSelector)
		}
		prefix, uri, ok := strings.Cut(q[len("xmlns("):end], "=")
		if !ok || !isNCName(prefix) || uri == "" {
			return nil, fmt.Errorf("%w: bad binding %q", ErrBadSelector, q[:end+1])
		}
		ns[prefix] = uri
		q = q[end+1:]
	}
	if q != "" {
		return nil, fmt.Errorf("%w: too many namespace bindings", ErrBadSelector)
	}
	return ns, nil
}

// matches reports whether n passes the step's name test.
func (st *step) matchesName(n *node) bool {
	return st.any || n.name == st.name
}

// candidates returns the children of parent that the step selects.
func (st *step) candidates(parent *node) []*node {
	var named []*node
	for _, c := range parent.children {
		if st.matchesName(c) {
			named = append(named, c)
		}
	}
	if st.pos > 0 {
		if st.pos > len(named) {
			return nil
		}
		named = named[st.pos-1 : st.pos]
	}
	if !st.hasAttr {
		return named
	}
	var out []*node
	for _, c := range named {
		if v, ok := c.attr(st.attrName); ok && v == st.attrVal {
			out = append(out, c)
		}
	}
	return out
}

// rootMatches applies the first step to the document's root element, which
// is the only element at the top.
func (st *step) rootMatches(root *node) bool {
	return len(st.candidates(&node{children: []*node{root}})) == 1
}

// find evaluates the element steps. It returns the selected element and its
// parent (nil parent for the root), or how many elements the steps
// matched when that is not exactly one (0 or more than 1), and the depth of
// the deepest step that selected exactly one element.
func (s *selector) find(root *node) (target, parent *node, matched, depth int) {
	if !s.steps[0].rootMatches(root) {
		return nil, nil, 0, 0
	}
	cur, par := root, (*node)(nil)
	for i, st := range s.steps[1:] {
		c := st.candidates(cur)
		if len(c) != 1 {
			return nil, cur, len(c), i + 1
		}
		par, cur = cur, c[0]
	}
	return cur, par, 1, len(s.steps)
}

// String renders the selector's element steps, for logs.
func (s *selector) String() string {
	parts := make([]string, 0, len(s.steps))
	for _, st := range s.steps {
		p := st.name.Local
		if st.any {
			p = "*"
		}
		if st.pos > 0 {
			p += "[" + strconv.Itoa(st.pos) + "]"
		}
		if st.hasAttr {
			p += "[@" + st.attrName.Local + "=" + strconv.Quote(st.attrVal) + "]"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "/")
}
