package xcap

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

// rfc4826Example follows the resource-lists example of RFC 4826 §3.3
// (reconstructed offline; the structure, not the bytes, is what matters).
const rfc4826Example = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <list name="friends">
    <entry uri="sip:bill@example.com">
      <display-name>Bill Doe</display-name>
    </entry>
    <entry-ref ref="resource-lists/users/sip:bill@example.com/index/~~/resource-lists/list%5b@name=%22list1%22%5d/entry%5b@uri=%22sip:petri@example.com%22%5d"/>
    <list name="close-friends">
      <display-name>Close Friends</display-name>
      <entry uri="sip:joe@example.com">
        <display-name>Joe Smith</display-name>
      </entry>
      <entry uri="sip:nancy@example.com">
        <display-name>Nancy Gross</display-name>
      </entry>
      <external anchor="http://xcap.example.org/resource-lists/users/sip:a@example.org/index/~~/resource-lists/list%5b@name=%22mkting%22%5d">
        <display-name>Marketing</display-name>
      </external>
    </list>
  </list>
</resource-lists>`

// rfc4825NamespaceExample follows the namespace example of RFC 4825 §6.4:
// elements named bar and baz that live in different namespaces.
const rfc4825NamespaceExample = `<?xml version="1.0" encoding="UTF-8"?>
<foo xmlns="urn:test:default-namespace">
  <ns1:bar xmlns:ns1="urn:test:namespace1-uri" xmlns="urn:test:namespace1-uri">
    <baz/>
    <baz xmlns="urn:test:namespace2-uri"/>
  </ns1:bar>
  <ns1:bar xmlns:ns1="urn:test:namespace1-uri" xmlns="urn:test:namespace1-uri">
    <baz/>
  </ns1:bar>
</foo>`

func parseDoc(t testing.TB, doc string) *node {
	t.Helper()
	n := &node{}
	if err := guardedDecode(strings.NewReader(doc), 1<<20, n); err != nil {
		t.Fatal(err)
	}
	return n
}

// describe names a selected node by what tells it apart in the examples.
func describe(n *node) string {
	if v, ok := n.attr(xml.Name{Local: "uri"}); ok {
		return v
	}
	if v, ok := n.attr(xml.Name{Local: "name"}); ok {
		return "list " + v
	}
	if n.text != "" {
		return n.text
	}
	return n.name.Space + " " + n.name.Local
}

func TestSelectorsOnRFCExamples(t *testing.T) {
	rl := parseDoc(t, rfc4826Example)
	ns := parseDoc(t, rfc4825NamespaceExample)
	tests := []struct {
		doc     *node
		defNS   string
		sel     string
		query   string
		matched int
		want    string // describe() of the element, or the attribute value
	}{
		0:  {rl, nsResourceLists, `resource-lists/list[@name="friends"]/list[@name="close-friends"]/entry[2]`, "", 1, "sip:nancy@example.com"},
		1:  {rl, nsResourceLists, `resource-lists/list/list/*[3]`, "", 1, "sip:nancy@example.com"},
		2:  {rl, nsResourceLists, `resource-lists/list[1]/entry[@uri="sip:bill@example.com"]/display-name`, "", 1, "Bill Doe"},
		3:  {rl, nsResourceLists, `resource-lists/list/entry[1][@uri="sip:bill@example.com"]`, "", 1, "sip:bill@example.com"},
		4:  {rl, nsResourceLists, `resource-lists/list/list/entry[1][@uri="sip:nancy@example.com"]`, "", 0, ""},
		5:  {rl, nsResourceLists, `resource-lists/list/*[2]`, "", 1, nsResourceLists + " entry-ref"},
		6:  {rl, nsResourceLists, `resource-lists/list/list/entry`, "", 2, ""},
		7:  {rl, nsResourceLists, `resource-lists/list/list/@name`, "", 1, "close-friends"},
		8:  {rl, nsResourceLists, `resource-lists/list/list/entry[@uri='sip:joe@example.com']`, "", 1, "sip:joe@example.com"},
		9:  {rl, nsResourceLists, `resource-lists/list[@name="enemies"]`, "", 0, ""},
		10: {rl, nsResourceLists, `rl:resource-lists/rl:list/rl:entry`, "xmlns(rl=urn:ietf:params:xml:ns:resource-lists)", 1, "sip:bill@example.com"},
		11: {rl, nsResourceLists, `*/*/*[@name="close-friends"]/external/display-name`, "", 1, "Marketing"},
		12: {rl, nsResourceLists, `resource-lists/list/entry-ref/@ref`, "", 1, `resource-lists/users/sip:bill@example.com/index/~~/resource-lists/list%5b@name=%22list1%22%5d/entry%5b@uri=%22sip:petri@example.com%22%5d`},
		// §6.4: unprefixed names take the usage's default namespace, so
		// foo/bar finds nothing: the bars are in namespace1.
		13: {ns, "urn:test:default-namespace", `foo/bar`, "", 0, ""},
		14: {ns, "urn:test:default-namespace", `foo/a:bar[1]/b:baz`, "xmlns(a=urn:test:namespace1-uri)xmlns(b=urn:test:namespace2-uri)", 1, "urn:test:namespace2-uri baz"},
		15: {ns, "urn:test:default-namespace", `foo/a:bar[1]/a:baz`, "xmlns(a=urn:test:namespace1-uri)xmlns(b=urn:test:namespace2-uri)", 1, "urn:test:namespace1-uri baz"},
		16: {ns, "urn:test:default-namespace", `foo/a:bar/a:baz`, "xmlns(a=urn:test:namespace1-uri)", 2, ""},
		17: {ns, "urn:test:default-namespace", `foo/a:bar[2]/a:baz`, "xmlns(a=urn:test:namespace1-uri)", 1, "urn:test:namespace1-uri baz"},
		18: {ns, "urn:test:default-namespace", `foo/*[1]/*[2]`, "", 1, "urn:test:namespace2-uri baz"},
	}
	for i, tc := range tests {
		bindings, err := parseNamespaceBindings(tc.query)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		sel, err := parseSelector(tc.sel, tc.defNS, bindings)
		if err != nil {
			t.Fatalf("%d %s: %v", i, tc.sel, err)
		}
		target, _, matched, _ := sel.find(tc.doc)
		if matched != tc.matched {
			t.Errorf("%d %s: %d matched, want %d", i, tc.sel, matched, tc.matched)
			continue
		}
		if matched != 1 {
			continue
		}
		got := describe(target)
		if sel.term == termAttribute {
			got, _ = target.attr(sel.attr)
		}
		if got != tc.want {
			t.Errorf("%d %s: selected %q, want %q", i, tc.sel, got, tc.want)
		}
	}
}

func TestSelectorSyntaxErrors(t *testing.T) {
	for i, s := range []string{
		``, `/resource-lists`, `resource-lists//list`, `resource-lists/`, `list[`, `list[0]`, `list[-1]`, `list[x]`,
		`list[@name=friends]`, `list[@name="a]`, `list[@name="a"][1]`, `list[1][2]`, `list[@a="1"][@b="2"]`,
		`p:list`, `list/@`, `list/@p:x`, `1list`, `list]`, `list[1]x`, `list[@name="<"]`,
		strings.Repeat("a/", 40) + "a", strings.Repeat("x", 5000),
	} {
		if _, err := parseSelector(s, nsResourceLists, map[string]string{}); !errors.Is(err, ErrBadSelector) {
			t.Errorf("%d %q: %v", i, s, err)
		}
	}
	for i, q := range []string{"x", "xmlns(a)", "xmlns(=u)", "xmlns(a=u", "xmlns(1=u)"} {
		if _, err := parseNamespaceBindings(q); !errors.Is(err, ErrBadSelector) {
			t.Errorf("query %d %q: %v", i, q, err)
		}
	}
	// An attribute value may hold slashes, brackets and references.
	sel, err := parseSelector(`a/b[@c="x/]['&amp;&quot;"]`, "", nil)
	if err != nil || sel.steps[1].attrVal != `x/]['&"` {
		t.Fatalf("quoted value: %+v %v", sel, err)
	}
}
