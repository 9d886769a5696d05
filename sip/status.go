package sip

import (
	"context"
	"errors"
	"fmt"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// StatusError is an error that carries the SIP status to answer with and
// any headers the answer needs (Retry-After, Min-Expires, Unsupported, …).
type StatusError struct {
	Code    int
	Reason  string
	Headers []sipmsg.Header
	Err     error
}

// Error describes the status and the cause.
func (e *StatusError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Reason, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Reason)
}

// Unwrap returns the cause.
func (e *StatusError) Unwrap() error { return e.Err }

// statusErr builds a StatusError.
func statusErr(code int, reason string, hdrs ...sipmsg.Header) *StatusError {
	return &StatusError{Code: code, Reason: reason, Headers: hdrs}
}

// sentinelStatus maps every core sentinel to the status a SIP peer gets
// (CONVENTIONS.md habit 7). TestSentinelTable checks it covers all of
// crosstalk.Sentinels().
var sentinelStatus = []struct {
	err    error
	code   int
	reason string
}{
	{crosstalk.ErrInvalidAddress, 400, "Bad Request (invalid address)"},
	{crosstalk.ErrUnmappable, 416, "Unsupported URI Scheme"},
	// Not RFC 7247's 503 for XMPP's service-unavailable: the server
	// refuses this itself, RFC 3261 §21.4.5 defines 404 for it, and a 503
	// would have an RFC 3263 client fail over to another server (design
	// 006, "Local refusals").
	{crosstalk.ErrNoSuchAccount, 404, "Not Found"},
	{crosstalk.ErrAccountExists, 403, "Forbidden (account exists)"},
	{crosstalk.ErrNotFound, 404, "Not Found"},
	{crosstalk.ErrConflict, 500, "Server Internal Error (conflict)"},
	{crosstalk.ErrNotAuthorized, 403, "Forbidden"},
	{crosstalk.ErrForbidden, 403, "Forbidden"},
	{crosstalk.ErrSlowConsumer, 480, "Temporarily Unavailable"},
	{crosstalk.ErrResourceConflict, 480, "Temporarily Unavailable"},
	{crosstalk.ErrEndpointClosed, 480, "Temporarily Unavailable"},
	{crosstalk.ErrRemoteNotSupported, 501, "Not Implemented (federation with other domains not available yet)"},
	{crosstalk.ErrAccountGone, 404, "Not Found"},
	{crosstalk.ErrShuttingDown, 503, "Service Unavailable"},
	{crosstalk.ErrMembersOnly, 403, "Forbidden (members only)"},
	{crosstalk.ErrRoomFull, 486, "Busy Here (room is full)"},
}

// reasonPhrase is the RFC 3261 §21 reason phrase of each status code
// sipmap.StatusForCondition returns.
var reasonPhrase = map[int]string{
	302: "Moved Temporarily", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
	404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout",
	410: "Gone", 480: "Temporarily Unavailable", 500: "Server Internal Error", 503: "Service Unavailable",
}

// StatusFor returns the status code and reason phrase for an error: a
// StatusError's own, a core sentinel's from the table, 504 for a deadline,
// 500 otherwise.
func StatusFor(err error) (int, string) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code, se.Reason
	}
	var de *crosstalk.DeliveryError // from the other protocol, by RFC 7247 §6.1
	if errors.As(err, &de) {
		code := sipmap.StatusForCondition(de.Condition)
		return code, reasonPhrase[code]
	}
	for _, s := range sentinelStatus {
		if errors.Is(err, s.err) {
			return s.code, s.reason
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return 504, "Server Time-out"
	}
	return 500, "Server Internal Error"
}
