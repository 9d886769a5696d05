package xcap

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// The node operations of RFC 4825 §7 and §8 on a document tree. Each works
// on a tree the caller may throw away (a fresh rendering of the view), and
// fails with an *Error without side effects.

// getNode returns the selected node's representation and media type
// (§8.1: an element as application/xcap-el+xml, an attribute value as
// application/xcap-att+xml, namespace bindings as application/xcap-ns+xml).
func getNode(root *node, sel *selector) ([]byte, string, error) {
	target, _, matched, _ := sel.find(root)
	if matched != 1 {
		return nil, "", status(http.StatusNotFound, "the node selector selects %d elements", matched)
	}
	switch sel.term {
	case termAttribute:
		v, ok := target.attr(sel.attr)
		if !ok {
			return nil, "", status(http.StatusNotFound, "no attribute %s", sel.attr.Local)
		}
		return []byte(attrEscape(v)), ctAttribute, nil
	case termNamespace:
		return namespaceBindings(root, target), ctNamespace, nil
	default:
		return target.encode(), ctElement, nil
	}
}

// namespaceBindings renders the element's name with the bindings in scope
// (§7.10), which here are the ones the document root declares.
func namespaceBindings(root, target *node) []byte {
	s := newSerializer(root)
	return []byte("<" + s.name(target.name, s.root, false) + s.declarations() + "/>")
}

// putElement puts elem at the selector (§8.2.3): it replaces the selected
// element or, when none is selected, inserts it under the parent the
// selector names. Afterwards the selector must select the new element, or
// the PUT would not be idempotent (cannot-insert). It returns the new root
// and whether the element was created.
func putElement(root *node, sel *selector, elem *node) (*node, bool, error) {
	target, parent, matched, depth := sel.find(root)
	if matched > 1 {
		return nil, false, status(http.StatusNotFound, "the node selector selects %d elements", matched)
	}
	if target != nil && parent == nil { // the root element itself
		if !sel.steps[0].rootMatches(elem) {
			return nil, false, conflict(condCannotInsert, "the new root does not match the selector")
		}
		return elem, false, nil
	}
	created := target == nil
	if created {
		if parent == nil || depth != len(sel.steps)-1 {
			return nil, false, conflict(condNoParent, "the parent of the selected element does not exist")
		}
		elem.inheritNamespace(parent.name.Space)
		if err := insert(parent, &sel.steps[len(sel.steps)-1], elem); err != nil {
			return nil, false, err
		}
	} else {
		elem.inheritNamespace(parent.name.Space)
		for i, c := range parent.children {
			if c == target {
				parent.children[i] = elem
			}
		}
	}
	if got, _, _, _ := sel.find(root); got != elem {
		return nil, false, conflict(condCannotInsert, "the selector would not select the new element")
	}
	return root, created, nil
}

// insert places a new element among parent's children: at the position a
// by-pos step names (only one past the last, as anything else would move
// its siblings), or after the last sibling of the same name, or last.
func insert(parent *node, st *step, elem *node) error {
	last := -1
	count := 0
	for i, c := range parent.children {
		if st.matchesName(c) {
			last, count = i, count+1
		}
	}
	if st.pos > 0 && st.pos != count+1 {
		return conflict(condCannotInsert, "position %d cannot be inserted among %d siblings", st.pos, count)
	}
	at := len(parent.children)
	if last >= 0 {
		at = last + 1
	}
	parent.children = append(parent.children, nil)
	copy(parent.children[at+1:], parent.children[at:])
	parent.children[at] = elem
	return nil
}

// deleteElement removes the selected element (§8.3.3). If the selector then
// selects another element the DELETE would not be idempotent
// (cannot-delete). The root cannot be deleted this way.
func deleteElement(root *node, sel *selector) (*node, error) {
	target, parent, matched, _ := sel.find(root)
	if matched != 1 {
		return nil, status(http.StatusNotFound, "the node selector selects %d elements", matched)
	}
	if parent == nil {
		return nil, conflict(condCannotDelete, "the root element cannot be deleted; delete the document")
	}
	for i, c := range parent.children {
		if c == target {
			parent.children = append(parent.children[:i], parent.children[i+1:]...)
			break
		}
	}
	if _, _, m, _ := sel.find(root); m != 0 {
		return nil, conflict(condCannotDelete, "the selector would select another element afterwards")
	}
	return root, nil
}

// putAttribute sets the selected attribute (§8.2.3) to value, the body of
// an application/xcap-att+xml PUT: an AttValue without its quotes.
func putAttribute(root *node, sel *selector, raw []byte) (*node, bool, error) {
	value, err := attValue(raw)
	if err != nil {
		return nil, false, err
	}
	target, _, matched, _ := sel.find(root)
	switch {
	case matched > 1:
		return nil, false, status(http.StatusNotFound, "the node selector selects %d elements", matched)
	case matched == 0:
		return nil, false, conflict(condNoParent, "the element of the attribute does not exist")
	}
	_, existed := target.attr(sel.attr)
	target.setAttr(sel.attr, value)
	if got, _, _, _ := sel.find(root); got != target {
		return nil, false, conflict(condCannotInsert, "the selector would not select the element afterwards")
	}
	return root, !existed, nil
}

// deleteAttribute removes the selected attribute (§8.3.3).
func deleteAttribute(root *node, sel *selector) (*node, error) {
	target, _, matched, _ := sel.find(root)
	if matched != 1 {
		return nil, status(http.StatusNotFound, "the node selector selects %d elements", matched)
	}
	if !target.delAttr(sel.attr) {
		return nil, status(http.StatusNotFound, "no attribute %s", sel.attr.Local)
	}
	if got, _, _, _ := sel.find(root); got != target {
		return nil, conflict(condCannotDelete, "the selector would not select the element afterwards")
	}
	return root, nil
}

// attValue checks and unescapes an attribute value body (§8.2.3,
// not-xml-att-value when it is not one).
func attValue(raw []byte) (string, error) {
	s := string(raw)
	if !utf8.ValidString(s) {
		return "", conflict(condNotUTF8, "the attribute value is not UTF-8")
	}
	if strings.ContainsAny(s, `<"`) || sipmap.CleanXMLText(s) != s {
		return "", conflict(condNotXMLAttValue, "not an XML attribute value")
	}
	v, err := unescapeAttValue(s)
	if err != nil {
		return "", conflict(condNotXMLAttValue, "not an XML attribute value: %v", err)
	}
	return v, nil
}
