package xmpp

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// FuzzAuthenticate feeds arbitrary <authenticate/> elements to
// parseAuthenticate. A request it accepts keeps the limits (a mechanism, a
// canonical user-agent id, a bounded UTF-8 tag) and survives a round trip:
// rendered again and parsed, it is the same request.
func FuzzAuthenticate(f *testing.F) {
	for _, s := range []string{
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><initial-response>biwsbj1hbGljZSxyPWFiYw==</initial-response></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response/><user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'><software>A</software><device>B</device></user-agent></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><bind xmlns='urn:xmpp:bind:0'><tag>AwesomeXMPP</tag><enable xmlns='urn:xmpp:carbons:2'/><inactive xmlns='urn:xmpp:csi:0'/><enable xmlns='urn:xmpp:sm:3'/></bind></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><user-agent id='D4565FA7-4D72-4749-B3D3-740EDBF87770'/><bind xmlns='urn:xmpp:bind:0'><tag> t&amp;&#x10FFFF; </tag><active xmlns='urn:xmpp:csi:0'/></bind></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2'><initial-response>=</initial-response></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><user-agent id='nope'/></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><initial-response>***</initial-response></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-256'><request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-EXPR'/></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>YWxpY2UA</initial-response><fast xmlns='urn:xmpp:fast:0' count='3' invalidate='1'/></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-1'><initial-response>biwsbj1hbGljZSxyPWFiYw==</initial-response><resume xmlns='urn:xmpp:sm:3' h='4294967295' previd='0123abcd'/><bind xmlns='urn:xmpp:bind:0'><tag>AwesomeXMPP</tag><enable xmlns='urn:xmpp:sm:3' resume='true'/></bind></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><resume xmlns='urn:xmpp:sm:3' previd='x'/></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><resume xmlns='urn:xmpp:sm:3' previd='x' h='-1'/></authenticate>",
		"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><resume xmlns='urn:xmpp:sm:3' h='4294967296' previd='x'/><resume xmlns='urn:xmpp:sm:2' h='1' previd='y'/></authenticate>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := parseAuthenticate(raw)
		if err != nil {
			if _, ok := err.(*authenticateError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if req.Mechanism == "" {
			t.Fatal("accepted without a mechanism")
		}
		if id := req.UserAgent.ID; id != "" {
			if back, ok := canonicalUUID(id); !ok || back != id {
				t.Fatalf("user-agent id %q not canonical", id)
			}
		}
		if _, ok := htBinding(req.RequestToken); req.RequestToken != "" && !ok {
			t.Fatalf("token requested for %q", req.RequestToken)
		}
		if b := req.Bind; b != nil && (len(b.Tag) > maxBindTag || !utf8.ValidString(b.Tag)) {
			t.Fatalf("tag %q", b.Tag)
		}
		if r := req.Resume; r != nil && (r.PrevID == "" || req.ResumeErr != nil) {
			t.Fatalf("resume %+v accepted (error %v)", r, req.ResumeErr)
		}
		again, err := parseAuthenticate([]byte(renderAuthenticate(req)))
		if err != nil {
			t.Fatalf("round trip of %+v: %v", req, err)
		}
		if !sameRequest(req, again) {
			t.Fatalf("round trip: %+v became %+v", req, again)
		}
	})
}

// renderAuthenticate renders a request as a client would send it.
func renderAuthenticate(r sasl2Request) string {
	var b strings.Builder
	b.WriteString("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='" + xmppmap.Escape(r.Mechanism) + "'>")
	if r.Initial != nil {
		b.WriteString("<initial-response>" + base64.StdEncoding.EncodeToString(r.Initial) + "</initial-response>")
	}
	if r.UserAgent != (userAgent{}) {
		b.WriteString("<user-agent id='" + r.UserAgent.ID + "'><software>" + xmppmap.Escape(r.UserAgent.Software) +
			"</software><device>" + xmppmap.Escape(r.UserAgent.Device) + "</device></user-agent>")
	}
	if r.RequestToken != "" {
		b.WriteString("<request-token xmlns='urn:xmpp:fast:0' mechanism='" + r.RequestToken + "'/>")
	}
	if r.Fast {
		b.WriteString("<fast xmlns='urn:xmpp:fast:0' invalidate='" + strconv.FormatBool(r.Invalidate) + "'/>")
	}
	if r.Resume != nil {
		b.WriteString("<resume xmlns='urn:xmpp:sm:3' previd='" + xmppmap.Escape(r.Resume.PrevID) + "' h='" + strconv.FormatUint(uint64(r.Resume.H), 10) + "'/>")
	}
	if r.ResumeErr != nil {
		b.WriteString("<resume xmlns='urn:xmpp:sm:3' previd='x' h='x'/>")
	}
	if r.Bind != nil {
		b.WriteString("<bind xmlns='urn:xmpp:bind:0'><tag>" + xmppmap.Escape(r.Bind.Tag) + "</tag>")
		if r.Bind.Carbons {
			b.WriteString("<enable xmlns='urn:xmpp:carbons:2'/>")
		}
		if r.Bind.Inactive {
			b.WriteString("<inactive xmlns='urn:xmpp:csi:0'/>")
		}
		if e := r.Bind.SM; e != nil {
			b.WriteString("<enable xmlns='urn:xmpp:sm:3' resume='" + xmppmap.Escape(e.Resume) + "' max='" + strconv.Itoa(e.Max) + "'/>")
		}
		b.WriteString("</bind>")
	}
	b.WriteString("</authenticate>")
	return b.String()
}

func sameRequest(a, b sasl2Request) bool {
	if a.RequestToken != b.RequestToken || a.Fast != b.Fast || a.Invalidate != b.Invalidate {
		return false
	}
	if (a.Resume == nil) != (b.Resume == nil) || a.Resume != nil && *a.Resume != *b.Resume || (a.ResumeErr == nil) != (b.ResumeErr == nil) {
		return false
	}
	if a.Mechanism != b.Mechanism || string(a.Initial) != string(b.Initial) || a.UserAgent != b.UserAgent || (a.Bind == nil) != (b.Bind == nil) {
		return false
	}
	if a.Bind == nil {
		return true
	}
	x, y := *a.Bind, *b.Bind
	if (x.SM == nil) != (y.SM == nil) || x.SM != nil && *x.SM != *y.SM {
		return false
	}
	x.SM, y.SM = nil, nil
	return x == y
}

// TestParseAuthenticateClips checks the cut of long texts: at a rune
// boundary, with no space left at the end.
func TestParseAuthenticateClips(t *testing.T) {
	tag := strings.Repeat("a", maxBindTag-1) + " é" + strings.Repeat("b", 10)
	req, err := parseAuthenticate([]byte("<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><user-agent><software>" +
		strings.Repeat("é", maxUserAgentText) + "</software></user-agent><bind xmlns='urn:xmpp:bind:0'><tag>" + tag + "</tag></bind></authenticate>"))
	if err != nil {
		t.Fatal(err)
	}
	if req.Bind.Tag != strings.Repeat("a", maxBindTag-1) || req.UserAgent.Software != strings.Repeat("é", maxUserAgentText/2) {
		t.Fatalf("clipped to %q and %q", req.Bind.Tag, req.UserAgent.Software)
	}
}
