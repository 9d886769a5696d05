package xcap

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzSelector checks that no node selector or query panics the parser or
// the evaluation, that what parses has at least one step and at most the
// step limit, and that a selector without prefixes or quotes parses again
// from its own rendering to the same steps.
func FuzzSelector(f *testing.F) {
	f.Add(`resource-lists/list[@name="friends"]/entry[2]`, "")
	f.Add(`resource-lists/list/list/@name`, "")
	f.Add(`foo/a:bar[1]/b:baz`, "xmlns(a=urn:test:namespace1-uri)xmlns(b=urn:test:namespace2-uri)")
	f.Add(`*/*[1][@x='a/b']/namespace::*`, "")
	f.Add(`ruleset/rule[@id="pres_allow"]/conditions/identity/one[1]/@id`, "")
	doc := parseDoc(f, rfc4826Example)
	f.Fuzz(func(t *testing.T, s, query string) {
		ns, err := parseNamespaceBindings(query)
		if err != nil {
			ns = map[string]string{}
		}
		sel, err := parseSelector(s, nsResourceLists, ns)
		if err != nil {
			return
		}
		if len(sel.steps) == 0 || len(sel.steps) > maxSelectorSteps {
			t.Fatalf("%q parsed to %d steps", s, len(sel.steps))
		}
		_, _, matched, _ := sel.find(doc)
		if matched < 0 {
			t.Fatalf("negative match count")
		}
		if strings.ContainsAny(s, `:"'&`) || sel.term != termElement {
			return
		}
		again, err := parseSelector(sel.String(), nsResourceLists, nil)
		if err != nil || again.String() != sel.String() {
			t.Fatalf("%q → %q → %v (%v)", s, sel.String(), again, err)
		}
	})
}

// FuzzTree checks the document tree: whatever the guarded decoder accepts
// serialises to XML that decodes to the same tree (names with their
// namespaces, attributes, text), so an element GET or a re-rendering never
// changes meaning; and planning either usage on it never panics.
func FuzzTree(f *testing.F) {
	f.Add([]byte(rfc4826Example))
	f.Add([]byte(rfc4825NamespaceExample))
	f.Add([]byte(`<a xmlns="urn:x" xmlns:y="urn:y" y:at="1" xml:lang="en"><b xmlns=""><c xmlns="urn:x" y:z="&#xA;"/></b><y:d>t&amp;</y:d></a>`))
	f.Add([]byte(`<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><rule id="a"><conditions><identity><one id="sip:b@example.com"/><many domain="x.example"/></identity></conditions><actions><pr:sub-handling>block</pr:sub-handling></actions></rule></ruleset>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n1 := &node{}
		if err := guardedDecode(strings.NewReader(string(body)), 64<<10, n1); err != nil {
			return
		}
		out := n1.document()
		n2 := &node{}
		if err := guardedDecode(strings.NewReader(string(out)), 1<<20, n2); err != nil {
			t.Fatalf("re-decoding %q: %v", out, err)
		}
		if d := sameTree(n1, n2); d != "" {
			t.Fatalf("%s\nin: %q\nout: %q", d, body, out)
		}
		v := fullView()
		_, _ = planResourceLists(v, n1)
		_, _ = planPresRules(v, n1)
	})
}

// sameTree describes the first difference between two trees, or "".
func sameTree(a, b *node) string {
	if a.name != b.name || a.text != b.text || len(a.attrs) != len(b.attrs) || len(a.children) != len(b.children) {
		return fmt.Sprintf("element %v %q %v (%d children) became %v %q %v (%d children)", a.name, a.text, a.attrs, len(a.children), b.name, b.text, b.attrs, len(b.children))
	}
	for i := range a.attrs {
		if a.attrs[i] != b.attrs[i] {
			return fmt.Sprintf("attribute %v became %v", a.attrs[i], b.attrs[i])
		}
	}
	for i := range a.children {
		if d := sameTree(a.children[i], b.children[i]); d != "" {
			return d
		}
	}
	return ""
}
