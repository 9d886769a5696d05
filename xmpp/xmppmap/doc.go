// Package xmppmap converts between XMPP stanzas and the protocol-neutral
// core values of package crosstalk: <message/> ⇄ crosstalk.Message
// (RFC 6121 §5), <presence/> ⇄ crosstalk.Presence (RFC 6121 §3–4) and
// roster items ⇄ crosstalk.RosterItem (RFC 6121 §2, XEP-0237 versions).
//
// It is pure: no I/O, no state. A Stanza keeps the element's attributes and
// its inner XML byte for byte, and the core values carry the serialised
// stanza as Native, so XMPP-to-XMPP delivery loses no extension element:
//
//	s, err := xmppmap.ParseStanza(raw)
//	s.SetAttr("from", session.String()) // RFC 6120 §8.1.2.1
//	m, err := xmppmap.ToMessage(&s)     // m.Native.Payload == s.Bytes()
//	out := xmppmap.FromMessage(&m)      // the native stanza, or built from fields
package xmppmap
