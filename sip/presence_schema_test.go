package sip

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// validateXML checks doc against a schema with xmllint (Debian package
// libxml2-utils); a missing xmllint fails the test.
func validateXML(t *testing.T, schema string, doc []byte) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint not found (install the Debian package libxml2-utils): %v", err)
	}
	catalog, err := filepath.Abs("testdata/schemas/catalog.xml")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--noout", "--nonet", "--schema", schema, f)
	cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+catalog)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s\n%s", filepath.Base(schema), err, out, doc)
	}
}

const (
	winfoXSD = "testdata/schemas/watcherinfo.xsd"
	rlmiXSD  = "testdata/schemas/rlmi.xsd"
	pidfXSD  = "xcap/testdata/schemas/pidf-all.xsd" // sip/xcap's copy of RFC 3863, 4479, 4480
)

// TestPresenceDocumentsValidate validates what the server emits: PIDF
// with RPID, watcherinfo (RFC 3858) and the parts of a resource-list
// NOTIFY (RLMI, RFC 4662, and PIDF), against the RFCs' schemas.
func TestPresenceDocumentsValidate(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob", "carol")
	befriend(t, e, "alice", "bob")
	bob := newWatcher(t, "bob")
	wantStatus(t, bob.publish(e, pidf("bob", "open", "away", "a &lt;note&gt; &amp; more"), "", 60), 200)

	alice := newWatcher(t, "alice")
	alice.tp = "TCP"
	wantStatus(t, alice.subscribe(e, "bob", "presence", 60), 200)
	n := alice.notifyWith(5*time.Second, "active", "<basic>open</basic>")
	validateXML(t, pidfXSD, n.Body())

	carol := newWatcher(t, "carol")
	wantStatus(t, carol.subscribe(e, "alice", "presence", 60), 200)
	wantStatus(t, alice.subscribe(e, "alice", "presence.winfo", 60), 200)
	n = alice.notifyWith(5*time.Second, "active", "watcherinfo", "sip:carol@localhost")
	validateXML(t, winfoXSD, n.Body())

	wantStatus(t, alice.subscribe(e, "alice-buddies", "presence", 60, sipmsg.NewHeader("Supported", "eventlist")), 200)
	n = alice.notifyWith(5*time.Second, "active", "urn:ietf:params:xml:ns:rlmi")
	parts := multipartParts(t, n)
	if len(parts) < 2 || !strings.HasPrefix(parts[0].ct, "application/rlmi+xml") {
		t.Fatalf("resource-list NOTIFY parts: %+v", parts)
	}
	validateXML(t, rlmiXSD, parts[0].body)
	for _, p := range parts[1:] {
		validateXML(t, pidfXSD, p.body)
	}
}

type part struct {
	ct   string
	body []byte
}

// multipartParts splits a multipart/related NOTIFY body.
func multipartParts(t *testing.T, n *sipmsg.Request) []part {
	t.Helper()
	mt, params, err := mime.ParseMediaType(hv(n, "Content-Type"))
	if err != nil || mt != "multipart/related" {
		t.Fatalf("Content-Type %q: %v", hv(n, "Content-Type"), err)
	}
	r := multipart.NewReader(bytes.NewReader(n.Body()), params["boundary"])
	var out []part
	for range 64 {
		p, err := r.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("multipart: %v\n%s", err, n.Body())
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, part{ct: p.Header.Get("Content-Type"), body: body})
	}
	t.Fatal("too many parts")
	return nil
}
