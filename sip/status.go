package sip

import (
	"context"
	"errors"
	"fmt"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
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

// StatusFor returns the status code and reason phrase for an error: a
// StatusError's own, a core sentinel's from the table, 504 for a deadline,
// 500 otherwise.
func StatusFor(err error) (int, string) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code, se.Reason
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
