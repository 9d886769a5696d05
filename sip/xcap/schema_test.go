package xcap

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// validate checks doc against one of the RFC schemas in testdata/schemas
// with xmllint (Debian package libxml2-utils). A missing xmllint fails the
// test: the schemas are the point of it.
func validate(t *testing.T, schema string, doc []byte) error {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint not found (install the Debian package libxml2-utils): %v", err)
	}
	dir, err := filepath.Abs("testdata/schemas")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--noout", "--nonet", "--schema", filepath.Join(dir, schema), f)
	cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+filepath.Join(dir, "catalog.xml"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return &schemaError{out: string(out), doc: string(doc)}
	}
	return nil
}

type schemaError struct{ out, doc string }

func (e *schemaError) Error() string { return e.out + "\n" + e.doc }

// fullView is an account with contacts in every state the documents show.
func fullView() *view {
	return &view{
		owner: alice,
		roster: crosstalk.Roster{Version: 7, Items: []crosstalk.RosterItem{
			{Contact: bob, Name: "Bob <&> \"B\"", Groups: []string{"Friends", "Work"}, SubscriptionState: crosstalk.SubscriptionState{Subscription: crosstalk.SubscriptionBoth}},
			{Contact: carol, SubscriptionState: crosstalk.SubscriptionState{PendingIn: true}},
			{Contact: dave, Groups: []string{"Work"}, SubscriptionState: crosstalk.SubscriptionState{Subscription: crosstalk.SubscriptionTo, PreApproved: true}},
			{Contact: crosstalk.MustParseAddress("a\\20b@example.com")},
		}},
		blocked:    []crosstalk.Address{crosstalk.MustParseAddress("spam.example"), crosstalk.MustParseAddress("eve@example.net"), crosstalk.MustParseAddress("mallory@example.net/x")},
		listURI:    "https://xcap.example.com/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22roster%22%5D",
		serviceURI: "sip:alice-buddies@example.com",
	}
}

func TestDocumentsValidateAgainstRFCSchemas(t *testing.T) {
	v := fullView()
	empty := &view{owner: alice, listURI: v.listURI, serviceURI: v.serviceURI}
	for i, tc := range []struct {
		schema string
		doc    *node
	}{
		0: {"resource-lists.xsd", renderResourceLists(v)},
		1: {"resource-lists.xsd", renderResourceLists(empty)},
		2: {"rls-services.xsd", renderRLSServices(v)},
		3: {"pres-rules-all.xsd", renderPresRules(v)},
		4: {"pres-rules-all.xsd", renderPresRules(empty)},
		5: {"xcap-caps.xsd", renderCaps(v)},
	} {
		if err := validate(t, tc.schema, tc.doc.document()); err != nil {
			t.Errorf("%d %s: %v", i, tc.schema, err)
		}
	}
}

func TestErrorBodiesValidate(t *testing.T) {
	for _, e := range []*Error{
		conflict(condNotWellFormed, "x"), conflict(condNotXMLFrag, "x"), conflict(condNotXMLAttValue, "x"),
		conflict(condSchema, "x < y"), conflict(condNoParent, "x"), {Status: 409, Condition: condNoParent, Ancestor: "https://h/xcap-root/a"},
		conflict(condCannotInsert, "x"), conflict(condCannotDelete, "x"), conflict(condConstraint, "x"), conflict(condNotUTF8, "x"),
		{Status: 409, Condition: condUniqueness, Phrase: "dup", Field: "entry/@uri"},
	} {
		if err := validate(t, "xcap-error.xsd", e.body()); err != nil {
			t.Errorf("%s: %v", e.Condition, err)
		}
	}
}

func TestPIDFValidates(t *testing.T) {
	from := crosstalk.MustParseAddress("alice@example.com/phone")
	for s := crosstalk.ShowNone; s <= crosstalk.ShowDND; s++ {
		for _, typ := range []crosstalk.PresenceType{crosstalk.PresenceAvailable, crosstalk.PresenceUnavailable} {
			p := crosstalk.Presence{From: from, Type: typ, Show: s, Status: "in a <meeting> \x01", Time: time.Date(2026, 11, 25, 10, 0, 0, 5, time.UTC)}
			doc, err := sipmap.RenderPIDF(from, &p)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(t, "pidf-all.xsd", doc); err != nil {
				t.Errorf("%s/%d: %v", s, typ, err)
			}
		}
	}
}

// TestSchemasRefuse shows that the validation is real: documents breaking
// the schemas fail it.
func TestSchemasRefuse(t *testing.T) {
	for i, tc := range []struct{ schema, doc string }{
		{"resource-lists.xsd", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry/></list></resource-lists>`},
		{"pres-rules-all.xsd", `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><rule id="a"><actions><pr:sub-handling>maybe</pr:sub-handling></actions></rule></ruleset>`},
		{"pidf-all.xsd", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:a@b"><tuple id="t"><status><basic>open</basic></status></tuple><r:activities><r:nope/></r:activities></presence>`},
		{"xcap-error.xsd", `<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><no-such-error/></xcap-error>`},
	} {
		if validate(t, tc.schema, []byte(tc.doc)) == nil {
			t.Errorf("%d: %s accepted %s", i, tc.schema, tc.doc)
		}
	}
}
