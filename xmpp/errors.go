package xmpp

import (
	"errors"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// sentinelCondition maps a core sentinel to its stanza error (RFC 6120
// §8.3.3); false for an error that is not a sentinel. TestSentinelTable
// checks that it covers crosstalk.Sentinels().
func sentinelCondition(err error) (feature.Error, bool) {
	switch err {
	case crosstalk.ErrInvalidAddress:
		return feature.Error{Type: "modify", Condition: "jid-malformed"}, true
	case crosstalk.ErrUnmappable:
		return feature.Error{Type: "cancel", Condition: "not-acceptable"}, true
	case crosstalk.ErrNoSuchAccount: // RFC 6121 §8.5.1
		return feature.Error{Type: "cancel", Condition: "service-unavailable"}, true
	case crosstalk.ErrAccountExists, crosstalk.ErrConflict, crosstalk.ErrResourceConflict:
		return feature.Error{Type: "cancel", Condition: "conflict"}, true
	case crosstalk.ErrNotFound:
		return feature.Error{Type: "cancel", Condition: "item-not-found"}, true
	case crosstalk.ErrNotAuthorized:
		return feature.Error{Type: "auth", Condition: "not-authorized"}, true
	case crosstalk.ErrForbidden:
		return feature.Error{Type: "auth", Condition: "forbidden"}, true
	case crosstalk.ErrSlowConsumer:
		return feature.Error{Type: "wait", Condition: "resource-constraint"}, true
	case crosstalk.ErrEndpointClosed:
		return feature.Error{Type: "cancel", Condition: "service-unavailable"}, true
	case crosstalk.ErrRemoteNotSupported:
		return feature.Error{Type: "cancel", Condition: "remote-server-not-found"}, true
	case crosstalk.ErrAccountGone:
		return feature.Error{Type: "cancel", Condition: "gone"}, true
	case crosstalk.ErrShuttingDown:
		return feature.Error{Type: "wait", Condition: "service-unavailable"}, true
	case crosstalk.ErrMembersOnly: // XEP-0045 §7.2.7
		return feature.Error{Type: "auth", Condition: "registration-required"}, true
	case crosstalk.ErrRoomFull: // XEP-0045 §7.2.9
		return feature.Error{Type: "wait", Condition: "service-unavailable"}, true
	}
	return feature.Error{}, false
}

// stanzaError turns a handler's or the hub's error into a stanza error: an
// *feature.Error as is, a core sentinel through the table, anything else
// internal-server-error (whose detail is logged, not sent).
func stanzaError(err error) *feature.Error {
	var fe *feature.Error
	if errors.As(err, &fe) {
		return fe
	}
	var de *crosstalk.DeliveryError // from the other protocol, by RFC 7247 §6
	if errors.As(err, &de) {
		return &feature.Error{Type: de.Type, Condition: de.Condition, Text: de.Text}
	}
	for _, s := range crosstalk.Sentinels() {
		if errors.Is(err, s) {
			if e, ok := sentinelCondition(s); ok {
				return &e
			}
		}
	}
	return &feature.Error{Type: "wait", Condition: "internal-server-error"}
}

// Stream error conditions (RFC 6120 §4.9.3) the server sends.
const (
	condBadFormat          = "bad-format"
	condConflict           = "conflict"
	condConnectionTimeout  = "connection-timeout"
	condHostUnknown        = "host-unknown"
	condImproperAddressing = "improper-addressing"
	condInvalidFrom        = "invalid-from"
	condInvalidNamespace   = "invalid-namespace"
	condNotAuthorized      = "not-authorized"
	condNotWellFormed      = "not-well-formed"
	condPolicyViolation    = "policy-violation"
	condResourceConstraint = "resource-constraint"
	condRestrictedXML      = "restricted-xml"
	condSystemShutdown     = "system-shutdown"
	condUnsupportedVersion = "unsupported-version"
	condInternal           = "internal-server-error"
	condUnsupportedStanza  = "unsupported-stanza-type"
	condUndefined          = "undefined-condition"
)

// streamCondition maps why a stream ends to its stream error condition;
// "" means a plain close.
func streamCondition(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, xmlguard.ErrTooLarge), errors.Is(err, xmlguard.ErrTooDeep), errors.Is(err, xmlguard.ErrTooManyAttrs):
		return condPolicyViolation
	case errors.Is(err, xmlguard.ErrRestrictedXML):
		return condRestrictedXML
	case errors.Is(err, crosstalk.ErrResourceConflict):
		return condConflict
	case errors.Is(err, crosstalk.ErrAccountGone):
		return condNotAuthorized
	case errors.Is(err, crosstalk.ErrSlowConsumer):
		return condPolicyViolation
	case errors.Is(err, crosstalk.ErrShuttingDown):
		return condSystemShutdown
	}
	var se *streamError
	if errors.As(err, &se) {
		return se.cond
	}
	return ""
}

// streamError is a reason to end a stream with a given condition.
type streamError struct {
	cond string
	text string
	// app, when set, is an application-specific condition element
	// (RFC 6120 §4.9.4), sent with text after the defined condition.
	app string
}

// Error returns the condition and the reason.
func (e *streamError) Error() string { return "stream error " + e.cond + ": " + e.text }

func newStreamError(cond, text string) error { return &streamError{cond: cond, text: text} }

// streamErrorFor renders the stream error that ends a stream for err,
// whose condition is cond (streamCondition(err)), and the stream close.
// An error with an application-specific condition carries it, after its
// text, in the order of RFC 6120's schema (§4.9.2: defined condition,
// <text/>, application-specific condition).
func streamErrorFor(cond string, err error) []byte {
	var se *streamError
	if !errors.As(err, &se) || se.app == "" || se.cond != cond {
		return streamErrorXML(cond)
	}
	return []byte("<stream:error><" + cond + " xmlns='" + nsStreams + "'/><text xmlns='" + nsStreams + "' xml:lang='en'>" +
		xmppmap.Escape(se.text) + "</text>" + se.app + "</stream:error></stream:stream>")
}
