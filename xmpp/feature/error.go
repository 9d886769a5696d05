package feature

import "github.com/crosstalk-im/crosstalk/xmpp/xmppmap"

// Error is a stanza error (RFC 6120 §8.3): a type (cancel, continue,
// modify, auth, wait), a defined condition, optional text and an optional
// application-specific condition element.
type Error struct {
	Type      string
	Condition string
	Text      string
	// App is an application-specific condition element, serialised.
	App string
}

// Error returns the condition and text.
func (e *Error) Error() string {
	if e.Text != "" {
		return e.Condition + ": " + e.Text
	}
	return e.Condition
}

// XML renders the <error/> element.
func (e *Error) XML() string {
	s := "<error type='" + e.Type + "'><" + e.Condition + " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
	if e.Text != "" {
		s += "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>" + xmppmap.Escape(e.Text) + "</text>"
	}
	return s + e.App + "</error>"
}

// BadRequest is modify/bad-request with text.
func BadRequest(text string) *Error {
	return &Error{Type: "modify", Condition: "bad-request", Text: text}
}

// ServiceUnavailable is cancel/service-unavailable, the answer to an IQ
// nobody handles (RFC 6120 §8.4).
func ServiceUnavailable() *Error {
	return &Error{Type: "cancel", Condition: "service-unavailable"}
}

// NotAllowed is cancel/not-allowed with text.
func NotAllowed(text string) *Error {
	return &Error{Type: "cancel", Condition: "not-allowed", Text: text}
}

// ItemNotFound is cancel/item-not-found.
func ItemNotFound() *Error {
	return &Error{Type: "cancel", Condition: "item-not-found"}
}

// Forbidden is auth/forbidden with text.
func Forbidden(text string) *Error {
	return &Error{Type: "auth", Condition: "forbidden", Text: text}
}
