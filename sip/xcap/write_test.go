package xcap

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

const rlDoc = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
 <list name="roster">
  <entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>
  <list name="Work">
   <entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>
   <entry uri="xmpp:dave@example.org"/>
  </list>
  <list name="Friends">
   <entry uri="sip:carol@example.com"/>
  </list>
 </list>
</resource-lists>`

// TestPutResourceListsChangesRoster: a PUT becomes hub roster changes, which
// XMPP resources receive as roster pushes.
func TestPutResourceListsChangesRoster(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ep := &pushes{}
	if _, err := e.hub.Bind(ctx, crosstalk.MustParseAddress("alice@example.com/laptop"), ep); err != nil {
		t.Fatal(err)
	}
	e.do("PUT", rlPath, rlDoc, opts{ctype: ctRL}).must(t, 200)
	b, _ := e.item(alice, bob)
	c, _ := e.item(alice, carol)
	d, _ := e.item(alice, dave)
	if b.Name != "Bob" || len(b.Groups) != 0 || c.Name != "Carol" || !slices.Equal(c.Groups, []string{"Friends", "Work"}) || !slices.Equal(d.Groups, []string{"Work"}) {
		t.Fatalf("roster %+v", e.roster(alice).Items)
	}
	if ep.count() != 3 {
		t.Fatalf("%d roster pushes, want 3", ep.count())
	}
	// The same document again changes nothing.
	v := e.roster(alice).Version
	e.do("PUT", rlPath, rlDoc, opts{ctype: ctRL}).must(t, 200)
	if e.roster(alice).Version != v || ep.count() != 3 {
		t.Fatal("an identical PUT changed the roster")
	}
	// GET gives back what was put (as a view: groups sorted).
	got := e.do("GET", rlPath, "", opts{}).must(t, 200).body
	for _, want := range []string{`<list name="roster"><entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry><list name="Friends"><entry uri="sip:carol@example.com">`, `<list name="Work">`, `uri="sip:dave@example.org"`} {
		if !strings.Contains(got, want) {
			t.Errorf("GET lacks %q:\n%s", want, got)
		}
	}
	// Dropping Bob removes him, with a push.
	e.do("PUT", rlPath, strings.Replace(rlDoc, `<entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>`, "", 1), opts{ctype: ctRL}).must(t, 200)
	if _, ok := e.item(alice, bob); ok {
		t.Fatal("bob still there")
	}
	if ep.count() != 4 || !ep.got[3].Removed {
		t.Fatalf("pushes %d", ep.count())
	}
}

// TestWriteErrorsChangeNothing: every refused write leaves the roster at
// its version, with the RFC 4825 error body.
func TestWriteErrorsChangeNothing(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 4096 })
	e.do("PUT", rlPath, rlDoc, opts{ctype: ctRL}).must(t, 200)
	v := e.roster(alice).Version
	sel := rlPath + "/~~/resource-lists/list%5b@name=%22roster%22%5d"
	tests := []struct {
		method, path, body, ctype string
		code                      int
		cond                      string
	}{
		0:  {"PUT", rlPath, "<resource-lists", ctRL, 409, "not-well-formed"},
		1:  {"PUT", rlPath, `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"/>`, ctRL, 409, "schema-validation-error"},
		2:  {"PUT", rlPath, `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, ctRL, 409, "schema-validation-error"},
		3:  {"PUT", rlPath, `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry uri="sip:x@example.com"/><entry uri="sip:x@example.com"/></list></resource-lists>`, ctRL, 409, "uniqueness-failure"},
		4:  {"PUT", rlPath, `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry uri="tel:+123"/></list></resource-lists>`, ctRL, 409, "constraint-failure"},
		5:  {"PUT", rlPath, `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><external anchor="http://x/"/></list></resource-lists>`, ctRL, 409, "constraint-failure"},
		6:  {"PUT", rlPath, `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>` + strings.Repeat(`<entry uri="sip:x@example.com"/>`, 200) + `</list></resource-lists>`, ctRL, 413, ""},
		7:  {"PUT", rlPath, `<!DOCTYPE r [<!ENTITY a "b">]><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list/></resource-lists>`, ctRL, 409, "not-well-formed"},
		8:  {"PUT", rlPath, rlDoc, "text/plain", 415, ""},
		9:  {"PUT", sel + "/entry%5b@uri=%22sip:zed@example.com%22%5d", `<entry xmlns="urn:ietf:params:xml:ns:resource-lists" uri="sip:other@example.com"/>`, ctElement, 409, "cannot-insert"},
		10: {"PUT", sel + "/list%5b@name=%22Nope%22%5d/entry", `<entry xmlns="urn:ietf:params:xml:ns:resource-lists" uri="sip:zed@example.com"/>`, ctElement, 409, "no-parent"},
		11: {"PUT", sel + "/entry%5b5%5d", `<entry xmlns="urn:ietf:params:xml:ns:resource-lists" uri="sip:zed@example.com"/>`, ctElement, 409, "cannot-insert"},
		12: {"PUT", sel + "/entry%5b@uri=%22sip:zed@example.com%22%5d", `<entry uri="sip:zed@example.com"/><x/>`, ctElement, 409, "not-xml-frag"},
		13: {"DELETE", sel + "/list%5b1%5d", "", "", 409, "cannot-delete"},
		14: {"DELETE", rlPath, "", "", 409, "cannot-delete"},
		15: {"PUT", sel + "/@name", `a<b`, ctAttribute, 409, "not-xml-att-value"},
		16: {"PUT", rlPath, "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list><entry uri=\"sip:\xff@example.com\"/></list></resource-lists>", ctRL, 409, "not-utf-8"},
		17: {"PUT", rlPath, `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><list><entry uri="sip:x@example.com"/></list></list></resource-lists>`, ctRL, 409, "constraint-failure"},
		18: {"PUT", rlPath, `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry uri="sip:alice@example.com"/></list></resource-lists>`, ctRL, 409, "constraint-failure"},
		19: {"PUT", rlPath, `<rl:resource-lists><rl:list/></rl:resource-lists>`, ctRL, 409, "not-well-formed"},
	}
	for i, tc := range tests {
		r := e.do(tc.method, tc.path, tc.body, opts{ctype: tc.ctype})
		if r.code != tc.code || (tc.cond != "" && (!strings.Contains(r.body, "<"+tc.cond) || r.hdr.Get("Content-Type") != ctError)) {
			t.Errorf("%d: %d %s, want %d %s", i, r.code, r.body, tc.code, tc.cond)
		}
		if e.roster(alice).Version != v {
			t.Fatalf("%d: the roster changed", i)
		}
	}
}

// TestElementAndAttributeOperations walks RFC 4825 §7/§8 node operations
// on the roster's document.
func TestElementAndAttributeOperations(t *testing.T) {
	e := newEnv(t)
	e.do("PUT", rlPath, rlDoc, opts{ctype: ctRL}).must(t, 200)
	roster := rlPath + "/~~/resource-lists/list%5b@name=%22roster%22%5d"
	work := roster + "/list%5b@name=%22Work%22%5d"

	// GET an element and an attribute.
	r := e.do("GET", work+"/entry%5b1%5d", "", opts{}).must(t, 200)
	if r.hdr.Get("Content-Type") != ctElement || r.body != `<entry xmlns="urn:ietf:params:xml:ns:resource-lists" uri="sip:carol@example.com"><display-name>Carol</display-name></entry>` {
		t.Fatalf("element GET: %s %q", r.hdr.Get("Content-Type"), r.body)
	}
	r = e.do("GET", work+"/entry%5b2%5d/@uri", "", opts{}).must(t, 200)
	if r.hdr.Get("Content-Type") != ctAttribute || r.body != "sip:dave@example.org" {
		t.Fatalf("attribute GET: %q", r.body)
	}
	r = e.do("GET", work+"/namespace::*", "", opts{}).must(t, 200)
	if !strings.Contains(r.body, `xmlns="urn:ietf:params:xml:ns:resource-lists"`) {
		t.Fatalf("namespace GET: %q", r.body)
	}

	// PUT a new entry (no namespace declared: it takes its parent's): 201.
	e.do("PUT", work+"/entry%5b@uri=%22sip:zed@example.com%22%5d", `<entry uri="sip:zed@example.com"><display-name>Zed</display-name></entry>`, opts{ctype: ctElement}).must(t, 201)
	if z, ok := e.item(alice, crosstalk.MustParseAddress("zed@example.com")); !ok || z.Name != "Zed" || !slices.Equal(z.Groups, []string{"Work"}) {
		t.Fatalf("zed: %+v", z)
	}
	// Replace it: 200.
	e.do("PUT", work+"/entry%5b@uri=%22sip:zed@example.com%22%5d", `<entry xmlns="urn:ietf:params:xml:ns:resource-lists" uri="sip:zed@example.com"><display-name>Zedd</display-name></entry>`, opts{ctype: ctElement}).must(t, 200)
	if z, _ := e.item(alice, crosstalk.MustParseAddress("zed@example.com")); z.Name != "Zedd" {
		t.Fatalf("zed renamed: %+v", z)
	}
	// Rename the group through its name attribute: not with a selector
	// testing that attribute (the PUT would not be idempotent), but by
	// position (Friends is list 1, Work list 2).
	e.do("PUT", work+"/@name", "Office", opts{ctype: ctAttribute}).must(t, 409)
	e.do("PUT", roster+"/list%5b2%5d/@name", "Office", opts{ctype: ctAttribute}).must(t, 200)
	if z, _ := e.item(alice, crosstalk.MustParseAddress("zed@example.com")); !slices.Equal(z.Groups, []string{"Office"}) {
		t.Fatalf("group rename: %+v", z)
	}
	// Delete an entry: the contact leaves the roster.
	office := roster + "/list%5b@name=%22Office%22%5d"
	e.do("DELETE", office+"/entry%5b@uri=%22sip:zed@example.com%22%5d", "", opts{}).must(t, 200)
	if _, ok := e.item(alice, crosstalk.MustParseAddress("zed@example.com")); ok {
		t.Fatal("zed still in the roster")
	}
	// Delete a display name (an element) and an attribute that is absent.
	e.do("DELETE", roster+"/entry%5b@uri=%22sip:bob@example.com%22%5d/display-name", "", opts{}).must(t, 200)
	if b, _ := e.item(alice, bob); b.Name != "" {
		t.Fatalf("bob's name: %+v", b)
	}
	e.do("DELETE", roster+"/@nope", "", opts{}).must(t, 404)
	// Prefixes bound in the query.
	e.do("GET", rlPath+"/~~/rl:resource-lists/rl:list?xmlns(rl=urn:ietf:params:xml:ns:resource-lists)", "", opts{}).must(t, 200)
	e.do("GET", rlPath+"/~~/rl:resource-lists/rl:list", "", opts{}).must(t, 400)
}

func TestPresRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Bob asks to see Alice (pending), Carol and Alice see each other.
	if err := e.hub.SetPresence(ctx, &crosstalk.Presence{From: bob, To: alice, Type: crosstalk.PresenceSubscribe}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		from, to crosstalk.Address
		t        crosstalk.PresenceType
	}{{alice, carol, crosstalk.PresenceSubscribe}, {carol, alice, crosstalk.PresenceSubscribed}, {carol, alice, crosstalk.PresenceSubscribe}, {alice, carol, crosstalk.PresenceSubscribed}} {
		if err := e.hub.SetPresence(ctx, &crosstalk.Presence{From: s.from, To: s.to, Type: s.t}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.hub.Block(ctx, alice, crosstalk.MustParseAddress("spam.example"), crosstalk.MustParseAddress("eve@example.net/phone")); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", prPath, "", opts{}).must(t, 200)
	for _, want := range []string{
		`<rule id="pres_allow"><conditions><identity><one id="sip:carol@example.com"/></identity></conditions><actions><pr:sub-handling>allow</pr:sub-handling></actions>`,
		`<rule id="pres_confirm"><conditions><identity><one id="sip:bob@example.com"/></identity></conditions><actions><pr:sub-handling>confirm</pr:sub-handling>`,
		`<rule id="pres_block"><conditions><identity><many domain="spam.example"/></identity></conditions><actions><pr:sub-handling>block</pr:sub-handling>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("pres-rules lacks %s:\n%s", want, r.body)
		}
	}
	// The GET's own document put back changes nothing.
	v := e.roster(alice).Version
	e.do("PUT", prPath, r.body, opts{ctype: ctPR}).must(t, 200)
	if e.roster(alice).Version != v {
		t.Fatal("an identical pres-rules PUT changed the roster")
	}
	// Approve Bob, block dave, stop Carol seeing Alice, unblock the domain.
	doc := `<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
 <cp:rule id="a"><cp:conditions><cp:identity><cp:one id="sip:bob@example.com"/></cp:identity></cp:conditions><cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions></cp:rule>
 <cp:rule id="b"><cp:conditions><cp:identity><cp:one id="sip:dave@example.org"/></cp:identity></cp:conditions><cp:actions><pr:sub-handling>block</pr:sub-handling></cp:actions></cp:rule>
 <cp:rule id="everyone"><cp:actions><pr:sub-handling>confirm</pr:sub-handling></cp:actions></cp:rule>
</cp:ruleset>`
	e.do("PUT", prPath, doc, opts{ctype: ctPR}).must(t, 200)
	b, _ := e.item(alice, bob)
	c, _ := e.item(alice, carol)
	if !b.SeesOwner() || c.SeesOwner() {
		t.Fatalf("bob %+v carol %+v", b.SubscriptionState, c.SubscriptionState)
	}
	list, _ := e.store.Blocklist(ctx, alice)
	if !slices.Contains(list, dave) || slices.Contains(list, crosstalk.MustParseAddress("spam.example")) || !slices.Contains(list, crosstalk.MustParseAddress("eve@example.net/phone")) {
		t.Fatalf("blocklist %v", list)
	}
	// Unprefixed names are in the pres-rules namespace (RFC 5025), so
	// ruleset needs a prefix.
	e.do("GET", prPath+"/~~/ruleset", "", opts{}).must(t, 404)
	// Deleting the allow rule revokes Bob; allowing a contact of a domain
	// not served pre-approves it (no federation to tell).
	e.do("DELETE", prPath+"/~~/cp:ruleset/cp:rule%5b@id=%22pres_allow%22%5d?xmlns(cp=urn:ietf:params:xml:ns:common-policy)", "", opts{}).must(t, 200)
	if b, _ := e.item(alice, bob); b.SeesOwner() {
		t.Fatalf("bob still sees alice: %+v", b.SubscriptionState)
	}
	remote := `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><rule id="r"><conditions><identity><one id="xmpp:zoe@remote.example"/></identity></conditions><actions><pr:sub-handling>allow</pr:sub-handling></actions></rule></ruleset>`
	e.do("PUT", prPath, remote, opts{ctype: ctPR}).must(t, 200)
	if z, ok := e.item(alice, crosstalk.MustParseAddress("zoe@remote.example")); !ok || !z.PreApproved {
		t.Fatalf("zoe: %+v", z)
	}
	if r := e.do("GET", prPath, "", opts{}).must(t, 200); !strings.Contains(r.body, `<one id="sip:zoe@remote.example"/>`) {
		t.Fatalf("pre-approval not shown:\n%s", r.body)
	}
	// What the roster cannot hold is refused, changing nothing.
	v = e.roster(alice).Version
	for i, bad := range []string{
		`<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><rule id="x"><conditions><identity><one id="sip:bob@example.com"/></identity></conditions><actions><pr:sub-handling>polite-block</pr:sub-handling></actions></rule></ruleset>`,
		`<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><rule id="x"><actions><pr:sub-handling>allow</pr:sub-handling></actions></rule></ruleset>`,
		`<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><rule id="x"><conditions><sphere value="work"/></conditions><actions><pr:sub-handling>allow</pr:sub-handling></actions></rule></ruleset>`,
		`<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><rule id="x"/><rule id="x"/></ruleset>`,
		`<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><rule id="x"><actions><pr:sub-handling>maybe</pr:sub-handling></actions></rule></ruleset>`,
	} {
		if r := e.do("PUT", prPath, bad, opts{ctype: ctPR}); r.code != 409 {
			t.Errorf("%d: %d %s", i, r.code, r.body)
		}
	}
	if e.roster(alice).Version != v {
		t.Fatal("a refused pres-rules PUT changed the roster")
	}
}
