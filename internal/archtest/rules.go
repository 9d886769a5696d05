package archtest

import (
	"fmt"
	"strings"
)

// Module is the module path of Crosstalk.
const Module = "github.com/crosstalk-im/crosstalk"

// rule says which of our packages a package (by path prefix, relative to the
// module) may import; "" is the root package.
type rule struct {
	pkg   string
	allow []string
	why   string
}

// rules follows the layout table of CONVENTIONS.md; the first rule whose
// pkg matches wins, so more specific rules come first.
var rules = []rule{
	{"", nil, "the core knows no protocol and imports nothing of ours"},
	{"store/", []string{""}, "stores implement the core and import only it"},
	{"internal/", []string{"", "internal/"}, "internal helpers import at most the core"},
	{"xmpp/xmppmap", []string{""}, "mappings are pure core conversions"},
	{"sip/sipmap", []string{""}, "mappings are pure core conversions"},
	{"sip/xcap", []string{"", "sip/sipmap", "internal/"}, "XCAP is a view of the core roster"},
	{"xmpp", []string{"", "xmpp", "media", "internal/"}, "frontends never import each other"},
	{"sip", []string{"", "sip", "media", "internal/"}, "frontends never import each other"},
	{"federation", []string{"", "federation", "xmpp/xmppmap", "sip/sipmap", "internal/"}, "federation uses only the codecs"},
	{"media", []string{"", "media", "internal/"}, "media knows no signalling frontend"},
	{"api", []string{"", "api", "internal/"}, "the API knows no protocol frontend"},
	{"cmd/ctload", []string{"xmpp/xmppmap", "sip/sipmap", "internal/"}, "the load tool uses only the codecs"},
	{"cmd/", nil, "only cmd/crosstalk wires"},
	{"test/", nil, "tests drive the server from outside"},
}

// matches reports whether rel (a package path relative to the module) is
// covered by prefix p: "" is the root only, "x/" anything below x, "x" x and
// anything below it.
func matches(rel, p string) bool {
	switch {
	case p == "":
		return rel == ""
	case strings.HasSuffix(p, "/"):
		return strings.HasPrefix(rel, p)
	default:
		return rel == p || strings.HasPrefix(rel, p+"/")
	}
}

// check returns a violation for an import edge between two of our packages,
// or "" when the edge is allowed.
func check(from, to string) string {
	if matches(to, "cmd/") {
		return fmt.Sprintf("%s imports %s: nothing imports a command", show(from), show(to))
	}
	if matches(from, "cmd/crosstalk") || matches(from, "test/") {
		return "" // cmd/crosstalk wires everything; tests drive anything
	}
	for _, r := range rules {
		if !matches(from, r.pkg) {
			continue
		}
		for _, a := range r.allow {
			if matches(to, a) {
				return ""
			}
		}
		return fmt.Sprintf("%s imports %s: %s", show(from), show(to), r.why)
	}
	return fmt.Sprintf("%s imports %s: the package is not in the layout of ARCHITECTURE.md", show(from), show(to))
}

func show(rel string) string {
	if rel == "" {
		return "crosstalk (root)"
	}
	return rel
}
