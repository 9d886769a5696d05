package xmpp

import (
	"strings"
	"testing"
)

func TestOutFramer(t *testing.T) {
	var f outFramer
	var got []string
	for _, w := range []string{
		string(streamHeader("s1", testDomain)) + "<stream:features><bind xmlns='" + nsBind + "'/></stream:features>",
		"<message to='a@b' id='x&gt;'><body>a > b <![CDATA[</message><iq/>]]></body></message><presence type='unavailable'",
		"/><iq type='result' id='1' xmlns='jabber:client'/>",
		string(streamErrorXML(condPolicyViolation)),
	} {
		for _, m := range f.frames([]byte(w)) {
			got = append(got, string(m))
		}
	}
	want := []string{
		`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" id="s1" from="example.test" version="1.0" xml:lang="en"/>`,
		`<stream:features xmlns:stream="http://etherx.jabber.org/streams"><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`,
		`<message xmlns="jabber:client" to='a@b' id='x&gt;'><body>a > b <![CDATA[</message><iq/>]]></body></message>`,
		`<presence xmlns="jabber:client" type='unavailable'/>`,
		`<iq type='result' id='1' xmlns='jabber:client'/>`,
		`<stream:error xmlns:stream="http://etherx.jabber.org/streams"><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`,
		`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(f.pending) != 0 {
		t.Fatalf("left %q", f.pending)
	}
}

func TestInFrame(t *testing.T) {
	for _, tc := range []struct{ in, out, cond string }{
		{in: `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="example.test" version="1.0" xml:lang="de"/>`,
			out: "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0' xml:lang='de'>"},
		{in: `<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`, out: "</stream:stream>"},
		{in: "<?xml version='1.0'?>\n <presence/> ", out: "<presence/>"},
		{in: `<message id="a'>"><body>x</body></message>`, out: `<message id="a'>"><body>x</body></message>`},
		{in: `<open xmlns='jabber:client'/>`, out: `<open xmlns='jabber:client'/>`},
		{in: "  ", out: ""},
		{in: "<presence/><presence/>", cond: condNotWellFormed},
		{in: "<message><body>", cond: condNotWellFormed},
		{in: "</stream:stream>", cond: condNotWellFormed},
		{in: "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", cond: condNotWellFormed},
		{in: "text", cond: condNotWellFormed},
		{in: "<presence/>text", cond: condNotWellFormed},
	} {
		out, err := inFrame([]byte(tc.in))
		if got := streamCondition(err); got != tc.cond || string(out) != tc.out {
			t.Errorf("%q: %q %v, want %q %q", tc.in, out, err, tc.out, tc.cond)
		}
	}
}

func FuzzScanUnit(f *testing.F) {
	f.Add([]byte("<a x='>'><b/><![CDATA[<]]></a>"))
	f.Add([]byte("<?xml version='1.0'?><stream:stream><x/></stream:stream>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			_, n, ok := scanUnit(b)
			if !ok {
				return
			}
			if n <= 0 || n > len(b) {
				t.Fatalf("length %d of %d", n, len(b))
			}
			b = b[n:]
		}
	})
}

// FuzzFraming checks that neither direction panics and that a message
// inFrame accepts is one unit of the stream.
func FuzzFraming(f *testing.F) {
	f.Add([]byte(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="a" version="1.0"/>`))
	f.Add([]byte("<message to='x'><body>y</body></message>"))
	f.Add([]byte("<stream:error><x/></stream:error></stream:stream>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if out, err := inFrame(b); err == nil && len(out) > 0 {
			if _, n, ok := scanUnit(out); !ok || (n != len(out) && string(out) != "</stream:stream>") {
				if !strings.HasPrefix(string(out), "<stream:stream ") {
					t.Fatalf("%q gave %q", b, out)
				}
			}
		}
		var o outFramer
		for _, m := range o.frames(b) {
			if len(m) == 0 {
				t.Fatalf("empty message from %q", b)
			}
		}
	})
}
