package xcap

import (
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
