package xmpp

import (
	"errors"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// sentinelConditions maps every core sentinel to a stanza error (RFC 6120
// §8.3.3). TestSentinelTable checks it covers crosstalk.Sentinels().
var sentinelConditions = map[error]feature.Error{
	crosstalk.ErrInvalidAddress:     {Type: "modify", Condition: "jid-malformed"},
	crosstalk.ErrUnmappable:         {Type: "cancel", Condition: "not-acceptable"},
	crosstalk.ErrNoSuchAccount:      {Type: "cancel", Condition: "service-unavailable"}, // RFC 6121 §8.5.1
	crosstalk.ErrAccountExists:      {Type: "cancel", Condition: "conflict"},
	crosstalk.ErrNotFound:           {Type: "cancel", Condition: "item-not-found"},
	crosstalk.ErrConflict:           {Type: "cancel", Condition: "conflict"},
	crosstalk.ErrNotAuthorized:      {Type: "auth", Condition: "not-authorized"},
	crosstalk.ErrForbidden:          {Type: "auth", Condition: "forbidden"},
	crosstalk.ErrSlowConsumer:       {Type: "wait", Condition: "resource-constraint"},
	crosstalk.ErrResourceConflict:   {Type: "cancel", Condition: "conflict"},
	crosstalk.ErrEndpointClosed:     {Type: "cancel", Condition: "service-unavailable"},
	crosstalk.ErrRemoteNotSupported: {Type: "cancel", Condition: "remote-server-not-found"},
	crosstalk.ErrAccountGone:        {Type: "cancel", Condition: "gone"},
	crosstalk.ErrShuttingDown:       {Type: "wait", Condition: "service-unavailable"},
	crosstalk.ErrMembersOnly:        {Type: "auth", Condition: "registration-required"}, // XEP-0045 §7.2.7
	crosstalk.ErrRoomFull:           {Type: "wait", Condition: "service-unavailable"},   // XEP-0045 §7.2.9
}

// stanzaError turns a handler's or the hub's error into a stanza error: an
// *feature.Error as is, a core sentinel through the table, anything else
// internal-server-error (whose detail is logged, not sent).
func stanzaError(err error) *feature.Error {
	var fe *feature.Error
	if errors.As(err, &fe) {
		return fe
	}
	for _, s := range crosstalk.Sentinels() {
		if errors.Is(err, s) {
			e := sentinelConditions[s]
			return &e
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
}

// Error returns the condition and the reason.
func (e *streamError) Error() string { return "stream error " + e.cond + ": " + e.text }

func newStreamError(cond, text string) error { return &streamError{cond: cond, text: text} }
