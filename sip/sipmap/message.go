package sipmap

import (
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/crosstalk-im/crosstalk"
)

// TextPlain is the Content-Type of a message rendered from translated
// fields (RFC 3428 §9: every UA supports text/plain).
const TextPlain = "text/plain;charset=UTF-8"

// ErrNoContent reports a core message with neither a SIP payload nor a body,
// which has nothing to send as a MESSAGE.
var ErrNoContent = errors.New("message has no content for SIP")

// Inbound is what the frontend read from a received MESSAGE request.
type Inbound struct {
	// From is the URI of the From header, To the Request-URI.
	From, To string
	CallID   string
	// ContentType is the Content-Type header value, empty if absent.
	ContentType string
	Body        []byte
	// Subject is the Subject header value, if any.
	Subject string
}

// MessageFromSIP maps a received MESSAGE (RFC 3428) to a core message of
// type chat. The body and Content-Type are kept as Native for SIP→SIP
// delivery; a text/plain body in UTF-8 is also the translated Body. The URIs
// map to addresses by RFC 7247 §5; an unmappable URI wraps
// crosstalk.ErrUnmappable.
func MessageFromSIP(in Inbound) (crosstalk.Message, error) {
	from, err := ParseURI(in.From)
	if err != nil {
		return crosstalk.Message{}, fmt.Errorf("from: %w", err)
	}
	to, err := ParseURI(in.To)
	if err != nil {
		return crosstalk.Message{}, fmt.Errorf("to: %w", err)
	}
	return MessageFromAddresses(from, to, in), nil
}

// MessageFromAddresses is MessageFromSIP for a caller that has mapped
// in.From and in.To to addresses already (with ParseURI), so that they
// are not parsed again; in.From and in.To are not read.
func MessageFromAddresses(from, to crosstalk.Address, in Inbound) crosstalk.Message {
	m := crosstalk.Message{
		ID:      in.CallID,
		From:    from,
		To:      to,
		Type:    crosstalk.MessageChat,
		Subject: Sanitize(in.Subject),
		Native: crosstalk.Native{
			Protocol:    crosstalk.ProtocolSIP,
			ContentType: in.ContentType,
			Payload:     append([]byte(nil), in.Body...),
		},
	}
	if IsText(in.ContentType) && utf8.Valid(in.Body) {
		m.Body = string(in.Body)
	}
	return m
}

// ParseURI maps a sip: or sips: URI to an address (RFC 7247 §5) like
// crosstalk.ParseSIPURI, but first refuses URIs holding whitespace or
// control characters, which no SIP URI may contain unescaped (RFC 3261
// §25.1) and which must never reach an address that is put back into a
// header.
func ParseURI(uri string) (crosstalk.Address, error) {
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c == 0x7f {
			return crosstalk.Address{}, fmt.Errorf("sip uri: %w: control character or space", crosstalk.ErrUnmappable)
		}
	}
	a, err := crosstalk.ParseSIPURI(uri)
	if err != nil {
		return crosstalk.Address{}, err
	}
	// Each part is checked where it is, rather than in a.String(), which
	// allocates.
	if hasControl(a.Local()) || hasControl(a.Domain()) || hasControl(a.Resource()) {
		return crosstalk.Address{}, fmt.Errorf("sip uri: %w: control character", crosstalk.ErrUnmappable)
	}
	return a, nil
}

// hasControl reports whether s holds a control character (C0 or DEL).
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// IsText reports whether a Content-Type is text/plain (or absent, which RFC
// 3428 treats as text/plain) with a UTF-8 compatible charset.
func IsText(contentType string) bool {
	// The usual values, without mime.ParseMediaType's map of parameters
	// and strings, which every MESSAGE received paid for.
	if asciiEqualFold(contentType, "text/plain") || asciiEqualFold(contentType, "text/plain;charset=utf-8") {
		return true
	}
	return isTextMIME(contentType)
}

// isTextMIME is IsText by mime.ParseMediaType alone.
func isTextMIME(contentType string) bool {
	if strings.TrimSpace(contentType) == "" {
		return true
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "text/plain" {
		return false
	}
	cs := strings.ToLower(params["charset"])
	return cs == "" || cs == "utf-8" || cs == "us-ascii"
}

// Outbound is what the frontend puts in a MESSAGE request it sends.
type Outbound struct {
	// From and To are sip: URIs (RFC 7247 §4).
	From, To    string
	ContentType string
	Body        []byte
	// Subject is sanitised for use as a header value; empty for none.
	Subject string
}

// MessageToSIP renders a core message as a MESSAGE: the native SIP body and
// Content-Type when the message came from SIP, text/plain from Body
// otherwise. It fails with ErrNoContent when there is nothing to send and
// wraps crosstalk.ErrUnmappable for addresses SIP cannot express.
func MessageToSIP(m *crosstalk.Message) (Outbound, error) {
	from, err := m.From.SIPURI()
	if err != nil {
		return Outbound{}, fmt.Errorf("from: %w", err)
	}
	to, err := m.To.Bare().SIPURI()
	if err != nil {
		return Outbound{}, fmt.Errorf("to: %w", err)
	}
	out := Outbound{From: from, To: to, Subject: Sanitize(m.Subject)}
	switch {
	case m.Native.Protocol == crosstalk.ProtocolSIP && (len(m.Native.Payload) > 0 || m.Body == ""):
		out.ContentType = Sanitize(m.Native.ContentType)
		if out.ContentType == "" {
			out.ContentType = TextPlain
		}
		out.Body = append([]byte(nil), m.Native.Payload...)
	case m.Body != "":
		out.ContentType = TextPlain
		out.Body = []byte(m.Body)
	default:
		return Outbound{}, ErrNoContent
	}
	return out, nil
}

// Sanitize makes a string safe as a SIP header value or quoted display name
// (RFC 3261 §25.1): control characters (CR and LF above all, which would
// inject headers) become spaces, double quotes and backslashes are dropped,
// invalid UTF-8 is replaced, and the result is trimmed.
func Sanitize(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			b.WriteByte(' ')
		case r == '"' || r == '\\':
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// asciiEqualFold reports whether s equals lower, an ASCII lower-case
// string, with ASCII letters compared without case. Unlike
// strings.EqualFold it folds nothing beyond ASCII (the Kelvin sign is no
// k), as MIME's tokens are ASCII.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
