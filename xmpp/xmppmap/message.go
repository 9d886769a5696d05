package xmppmap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// Addresses parses a stanza's from and to attributes; absent ones are zero.
func Addresses(s *Stanza) (from, to crosstalk.Address, err error) {
	if v := s.Attr("from"); v != "" {
		if from, err = crosstalk.ParseAddress(v); err != nil {
			return from, to, fmt.Errorf("from: %w", err)
		}
	}
	if v := s.Attr("to"); v != "" {
		if to, err = crosstalk.ParseAddress(v); err != nil {
			return from, to, fmt.Errorf("to: %w", err)
		}
	}
	return from, to, nil
}

// ToMessage maps a <message/> to a core message. The translated fields are
// the first body, subject and thread in jabber:client; Native keeps the
// whole stanza.
func ToMessage(s *Stanza) (crosstalk.Message, error) {
	if s.Name != "message" {
		return crosstalk.Message{}, fmt.Errorf("%w: <%s/> is not a message", ErrNotStanza, s.Name)
	}
	from, to, err := Addresses(s)
	if err != nil {
		return crosstalk.Message{}, err
	}
	m := crosstalk.Message{
		ID: s.Attr("id"), From: from, To: to,
		Type:   crosstalk.ParseMessageType(s.Attr("type")),
		Lang:   s.Attr("xml:lang"),
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: s.Bytes()},
	}
	if err := messageTexts(s, &m); err != nil {
		return crosstalk.Message{}, err
	}
	return m, nil
}

// messageTexts sets the message's body, subject and thread from the first
// such children of the stanza in jabber:client, in one pass over its inner
// XML: what Children and Text give, without decoding every child into an
// Element and each text a second time. A child's text is its own character
// data, without that of elements inside it.
func messageTexts(s *Stanza, m *crosstalk.Message) error {
	var seenBody, seenSubject, seenThread bool
	if s.textsKnown {
		for _, c := range s.texts {
			if c.Name.Space != NSClient {
				continue
			}
			switch {
			case c.Name.Local == "body" && !seenBody:
				m.Body, seenBody = c.Text, true
			case c.Name.Local == "subject" && !seenSubject:
				m.Subject, seenSubject = c.Text, true
			case c.Name.Local == "thread" && !seenThread:
				m.Thread, seenThread = c.Text, true
			}
		}
		return nil
	}
	doc := make([]byte, 0, len(s.Inner)+40)
	doc = append(doc, "<w xmlns='jabber:client'>"...)
	doc = append(doc, s.Inner...)
	doc = append(doc, "</w>"...)
	d := xml.NewDecoder(bytes.NewReader(doc))
	var (
		field *string // the text being collected, at depth 2
		text  []byte
		depth int
	)
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("xmppmap: children of <%s/>: %w", s.Name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth != 2 || t.Name.Space != NSClient {
				continue
			}
			switch {
			case t.Name.Local == "body" && !seenBody:
				field, seenBody = &m.Body, true
			case t.Name.Local == "subject" && !seenSubject:
				field, seenSubject = &m.Subject, true
			case t.Name.Local == "thread" && !seenThread:
				field, seenThread = &m.Thread, true
			}
			text = text[:0]
		case xml.CharData:
			if depth == 2 && field != nil {
				text = append(text, t...)
			}
		case xml.EndElement:
			depth--
			if depth == 1 && field != nil {
				*field = string(text)
				field = nil
			}
			if depth == 0 {
				return nil
			}
		}
	}
}

// FromMessage renders a core message as a <message/>: the native stanza
// when it came from XMPP, with from and to set to the message's (a room
// rewrites from to room@service/nick and to to each occupant), otherwise
// built from the translated fields. A Delayed message carries an XEP-0203
// <delay/> stamped with its Time; a room message with an archive id, the
// room's XEP-0359 <stanza-id/>.
func FromMessage(m *crosstalk.Message) []byte {
	if m.Native.Protocol == crosstalk.ProtocolXMPP && len(m.Native.Payload) > 0 {
		if !m.Delayed && m.StanzaID == "" && addressed(m.Native.Payload, m.From, m.To) {
			return m.Native.Payload // the common case: nobody re-addressed it
		}
		if s, err := ParseStanza(m.Native.Payload); err == nil {
			s.SetAttr("from", addr(m.From))
			if !m.To.IsZero() {
				s.SetAttr("to", m.To.String())
			}
			if m.Delayed && !m.Time.IsZero() {
				s.Inner = appendDelay(s.Inner, m)
			}
			s.Inner = appendStanzaID(s.Inner, m)
			return s.Bytes()
		}
		return m.Native.Payload
	}
	s := Stanza{Name: "message"}
	s.SetAttr("from", addr(m.From))
	s.SetAttr("to", addr(m.To))
	s.SetAttr("id", m.ID)
	if m.Type != crosstalk.MessageNormal {
		s.SetAttr("type", m.Type.String())
	}
	s.SetAttr("xml:lang", m.Lang)
	var inner bytes.Buffer
	element(&inner, "subject", m.Subject)
	if m.Type == crosstalk.MessageGroupchat && m.Subject == "" && m.Body == "" {
		inner.WriteString("<subject/>") // a room's empty subject (XEP-0045 §7.2.15)
	}
	element(&inner, "body", m.Body)
	element(&inner, "thread", m.Thread)
	if m.Type == crosstalk.MessageError && m.Error != nil {
		appendError(&inner, m.Error)
	}
	s.Inner = inner.Bytes()
	if m.Delayed && !m.Time.IsZero() {
		s.Inner = appendDelay(s.Inner, m)
	}
	s.Inner = appendStanzaID(s.Inner, m)
	return s.Bytes()
}

// appendError writes the <error/> of a message that could not be
// delivered (RFC 6120 §8.3): its type, the defined condition and the text.
// A condition that is not a valid element name becomes
// undefined-condition.
func appendError(b *bytes.Buffer, e *crosstalk.DeliveryError) {
	cond, typ := e.Condition, e.Type
	if !isConditionName(cond) {
		cond = "undefined-condition"
	}
	switch typ {
	case "auth", "cancel", "continue", "modify", "wait":
	default:
		typ = "cancel"
	}
	b.WriteString("<error type='" + typ + "'><" + cond + " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>")
	if e.Text != "" {
		b.WriteString("<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>" + Escape(e.Text) + "</text>")
	}
	b.WriteString("</error>")
}

// isConditionName reports whether s is a lower-case name with dashes that
// starts with a letter, the form of every RFC 6120 §8.3.3 condition.
func isConditionName(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}

// StampFormat is the XEP-0082 date-time used in delays, with milliseconds
// (some clients cannot read more digits).
const StampFormat = "2006-01-02T15:04:05.000Z"

// appendDelay adds an XEP-0203 delay: from the room for its history
// (XEP-0045 §7.2.15), from the recipient's server otherwise.
func appendDelay(inner []byte, m *crosstalk.Message) []byte {
	from := m.To.Domain()
	if m.Type == crosstalk.MessageGroupchat {
		from = m.From.Bare().String()
	}
	out := make([]byte, 0, len(inner)+96)
	out = append(out, inner...)
	return append(out, "<delay xmlns='urn:xmpp:delay' from='"+Escape(from)+"' stamp='"+m.Time.UTC().Format(StampFormat)+"'/>"...)
}

// addressed reports whether a stanza serialised by Stanza.Bytes already
// carries exactly these from and to attributes (Bytes quotes with ' and
// escapes > in values, so the start tag ends at the first >).
func addressed(stanza []byte, from, to crosstalk.Address) bool {
	end := bytes.IndexByte(stanza, '>')
	if end < 0 || from.IsZero() || to.IsZero() {
		return false
	}
	tag := stanza[:end]
	return bytes.Contains(tag, []byte(" from='"+Escape(from.String())+"'")) && bytes.Contains(tag, []byte(" to='"+Escape(to.String())+"'"))
}

func element(b *bytes.Buffer, name, text string) {
	if text == "" {
		return
	}
	b.WriteString("<" + name + ">")
	escape(b, text)
	b.WriteString("</" + name + ">")
}

func addr(a crosstalk.Address) string {
	if a.IsZero() {
		return ""
	}
	return a.String()
}

// presenceType parses an RFC 6121 presence type attribute.
func presenceType(name string) (crosstalk.PresenceType, bool) {
	switch name {
	case "":
		return crosstalk.PresenceAvailable, true
	case "unavailable":
		return crosstalk.PresenceUnavailable, true
	case "subscribe":
		return crosstalk.PresenceSubscribe, true
	case "subscribed":
		return crosstalk.PresenceSubscribed, true
	case "unsubscribe":
		return crosstalk.PresenceUnsubscribe, true
	case "unsubscribed":
		return crosstalk.PresenceUnsubscribed, true
	case "probe":
		return crosstalk.PresenceProbe, true
	case "error":
		return crosstalk.PresenceError, true
	}
	return 0, false
}

// PresenceTypeName returns the RFC 6121 type attribute of a presence type
// ("" for available).
func PresenceTypeName(t crosstalk.PresenceType) string {
	switch t {
	case crosstalk.PresenceUnavailable:
		return "unavailable"
	case crosstalk.PresenceSubscribe:
		return "subscribe"
	case crosstalk.PresenceSubscribed:
		return "subscribed"
	case crosstalk.PresenceUnsubscribe:
		return "unsubscribe"
	case crosstalk.PresenceUnsubscribed:
		return "unsubscribed"
	case crosstalk.PresenceProbe:
		return "probe"
	case crosstalk.PresenceError:
		return "error"
	}
	return ""
}

// ToPresence maps a <presence/> to a core presence. An unknown type is an
// error (RFC 6120 §8.3.3.2 bad-request).
func ToPresence(s *Stanza) (crosstalk.Presence, error) {
	if s.Name != "presence" {
		return crosstalk.Presence{}, fmt.Errorf("%w: <%s/> is not a presence", ErrNotStanza, s.Name)
	}
	from, to, err := Addresses(s)
	if err != nil {
		return crosstalk.Presence{}, err
	}
	t, ok := presenceType(s.Attr("type"))
	if !ok {
		return crosstalk.Presence{}, fmt.Errorf("xmppmap: presence type %q unknown", s.Attr("type"))
	}
	p := crosstalk.Presence{From: from, To: to, Type: t,
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: s.Bytes()}}
	children, err := s.Children()
	if err != nil {
		return crosstalk.Presence{}, err
	}
	var seenStatus bool
	for i := range children {
		c := &children[i]
		if c.XMLName.Space == NSMUC && c.XMLName.Local == "x" {
			p.Join = parseJoin(c, time.Now())
			continue
		}
		if c.XMLName.Space != NSClient {
			continue
		}
		switch c.XMLName.Local {
		case "show":
			p.Show = crosstalk.ParseShow(c.Text())
		case "status":
			if !seenStatus {
				p.Status, seenStatus = c.Text(), true
			}
		case "priority":
			if n, err := strconv.Atoi(c.Text()); err == nil {
				p.Priority = int8(max(-128, min(127, n)))
			}
		}
	}
	return p, nil
}

// FromPresence renders a core presence addressed to `to`. Subscription
// stanzas are built from the fields with bare addresses (RFC 6121 §3);
// other presence uses the native stanza when it came from XMPP.
func FromPresence(p *crosstalk.Presence, to crosstalk.Address) []byte {
	if p.Occupant != nil {
		return occupantPresence(p, to)
	}
	switch p.Type {
	case crosstalk.PresenceAvailable, crosstalk.PresenceUnavailable, crosstalk.PresenceError:
		if p.Native.Protocol == crosstalk.ProtocolXMPP && len(p.Native.Payload) > 0 {
			return p.Native.Payload
		}
	}
	from := p.From
	switch p.Type {
	case crosstalk.PresenceSubscribe, crosstalk.PresenceSubscribed, crosstalk.PresenceUnsubscribe, crosstalk.PresenceUnsubscribed:
		from, to = from.Bare(), to.Bare()
	}
	s := Stanza{Name: "presence"}
	s.SetAttr("from", addr(from))
	s.SetAttr("to", addr(to))
	s.SetAttr("type", PresenceTypeName(p.Type))
	var inner bytes.Buffer
	if p.Type == crosstalk.PresenceAvailable {
		element(&inner, "show", p.Show.String())
		if p.Priority != 0 {
			element(&inner, "priority", strconv.Itoa(int(p.Priority)))
		}
	}
	element(&inner, "status", p.Status)
	s.Inner = inner.Bytes()
	return s.Bytes()
}
