package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type listedPackage struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Dir        string
}

// packages lists every package of the module with `go list`.
func packages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", Module+"/...")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v: %s", err, errb.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(&out)
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == Module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, Module+"/")
	return r, ok
}

func TestImportRules(t *testing.T) {
	for _, p := range packages(t) {
		from, _ := rel(p.ImportPath)
		for _, imp := range p.Imports {
			to, ours := rel(imp)
			if !ours || to == from {
				continue
			}
			if v := check(from, to); v != "" {
				t.Error(v)
			}
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range packages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package doc comment (add a doc.go)", p.ImportPath)
		}
	}
}

// TestRuleChecker shows that the checker refuses what the design forbids.
func TestRuleChecker(t *testing.T) {
	for i, tc := range [...]struct {
		from, to string
		ok       bool
	}{
		0:  {"", "store/sqlite", false},
		1:  {"", "internal/xmlguard", false},
		2:  {"store/sqlite", "", true},
		3:  {"store/sqlite", "store/storetest", false},
		4:  {"store/storetest", "", true},
		5:  {"xmpp", "sip", false},
		6:  {"sip", "xmpp/xmppmap", false},
		7:  {"xmpp/muc", "xmpp/xmppmap", true},
		8:  {"xmpp/jingle", "media", true},
		9:  {"sip/xcap", "sip/sipmap", true},
		10: {"sip/xcap", "xmpp", false},
		11: {"federation", "xmpp/xmppmap", true},
		12: {"federation", "xmpp", false},
		13: {"api", "sip", false},
		14: {"api", "internal/tlscert", true},
		15: {"media", "sip", false},
		16: {"internal/logging", "", true},
		17: {"internal/logging", "api", false},
		18: {"api", "cmd/crosstalk", false},
		19: {"cmd/crosstalk", "xmpp", true},
		20: {"test/interop", "sip", true},
		21: {"cmd/ctload", "xmpp", false},
		22: {"cmd/ctload", "sip/sipmap", true},
		23: {"newthing", "", false},
	} {
		if got := check(tc.from, tc.to) == ""; got != tc.ok {
			t.Errorf("%d: %s → %s allowed = %v, want %v", i, show(tc.from), show(tc.to), got, tc.ok)
		}
	}
}
