package carbons

import (
	"bytes"
	"context"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// NS is the XEP-0280 namespace.
const NS = "urn:xmpp:carbons:2"

const stateKey = "carbons.enabled"

// Handle returns the enable and disable registrations.
func Handle() []feature.Registration {
	toggle := func(on bool) feature.HandlerFunc {
		return func(_ context.Context, iq feature.IQ) ([]byte, error) {
			iq.Session.Set(stateKey, on)
			return nil, nil
		}
	}
	return []feature.Registration{
		{Space: NS, Local: "enable", Types: feature.Set, Target: feature.Server | feature.Own, Features: []string{NS}, Handle: toggle(true)},
		{Space: NS, Local: "disable", Types: feature.Set, Target: feature.Server | feature.Own, Handle: toggle(false)},
	}
}

// Enable turns carbons on for a session, as the enable IQ does; Bind 2
// (XEP-0386 §3.2) enables them inline when the session is bound.
func Enable(s feature.Session) { s.Set(stateKey, true) }

// Enabled reports whether a session has carbons on.
func Enabled(s feature.Session) bool {
	on, _ := s.Get(stateKey).(bool)
	return on
}

// Eligible reports whether a message is copied (XEP-0280 §6): chat
// messages, and normal ones with a body, unless marked private or no-copy.
func Eligible(m *crosstalk.Message) bool {
	switch {
	case m.Type == crosstalk.MessageChat:
	case m.Type == crosstalk.MessageNormal && m.Body != "":
	default:
		return false
	}
	p := m.Native.Payload
	if m.Native.Protocol != crosstalk.ProtocolXMPP || (!bytes.Contains(p, []byte("private")) && !bytes.Contains(p, []byte("no-copy"))) {
		return true
	}
	st, err := xmppmap.ParseStanza(p)
	if err != nil {
		return true
	}
	children, _ := st.Children()
	for _, c := range children {
		if (c.XMLName.Space == NS && c.XMLName.Local == "private") || (c.XMLName.Space == "urn:xmpp:hints" && c.XMLName.Local == "no-copy") {
			return false
		}
	}
	return true
}

// Wrap renders a carbon copy; direction is "sent" or "received".
func Wrap(direction string, bare, to crosstalk.Address, m *crosstalk.Message) []byte {
	var b bytes.Buffer
	b.WriteString("<message from='" + xmppmap.Escape(bare.String()) + "' to='" + xmppmap.Escape(to.String()) + "' type='" + m.Type.String() + "'>")
	b.WriteString("<" + direction + " xmlns='" + NS + "'><forwarded xmlns='urn:xmpp:forward:0'>")
	b.Write(xmppmap.Embed(xmppmap.FromMessage(m)))
	b.WriteString("</forwarded></" + direction + "></message>")
	return b.Bytes()
}
