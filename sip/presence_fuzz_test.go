package sip

import (
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

// FuzzPresenceHeaders feeds the header parsers of SUBSCRIBE and PUBLISH
// (Event, Expires, Accept, Require): none may panic, an Event id comes out
// as an RFC 3261 token (it is echoed in NOTIFYs), and Expires is either
// refused or within the bounds.
func FuzzPresenceHeaders(f *testing.F) {
	for _, s := range []string{"presence", "presence;id=7", "presence.winfo ; id=\"a\"", "dialog", "", ";;;", "presence;id=\x00<&>"} {
		f.Add(s, "3600", "application/pidf+xml", "eventlist")
	}
	f.Add("presence", "0", "*/*", "")
	f.Add("presence", "99999999999999999999", "multipart/related;type=x, application/*", "a, b,,")
	p := &presenceServer{cfg: PresenceConfig{}.withDefaults()}
	f.Fuzz(func(t *testing.T, event, expires, accept, require string) {
		pkg, id := parseEvent(event)
		if pkg != strings.ToLower(pkg) || sipToken(id) != id {
			t.Fatalf("parseEvent(%q) = %q, %q", event, pkg, id)
		}
		req := sipmsg.NewRequest(sipmsg.SUBSCRIBE, sipmsg.Uri{Scheme: "sip", User: "a", Host: "localhost"})
		for _, h := range []struct{ name, value string }{{"Expires", expires}, {"Accept", accept}, {"Require", require}} {
			if h.value != "" {
				req.AppendHeader(sipmsg.NewHeader(h.name, h.value))
			}
		}
		if d, err := p.expires(req); err == nil && d != 0 && (d < p.cfg.MinExpires || d > p.cfg.MaxExpires) {
			t.Fatalf("Expires %q gave %s", expires, d)
		}
		for _, k := range []subKind{kindPresence, kindWinfo, kindList} {
			_ = checkAccept(req, k)
		}
		_ = requireOnly(req, "eventlist")
	})
}
