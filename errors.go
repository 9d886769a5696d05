package crosstalk

import "errors"

// Sentinel errors of the core. Frontends map each of them to a stanza error
// condition or a SIP status code in one table; wrap them with %w to add
// context.
var (
	// ErrInvalidAddress reports an address that is not a valid
	// local@domain/resource under RFC 7622.
	ErrInvalidAddress = errors.New("invalid address")
	// ErrUnmappable reports an address that has no equivalent in the other
	// protocol (RFC 7247 §4 and §5).
	ErrUnmappable = errors.New("address cannot be mapped")
	// ErrNoSuchAccount reports an account that does not exist.
	ErrNoSuchAccount = errors.New("no such account")
	// ErrAccountExists reports an attempt to create an account twice.
	ErrAccountExists = errors.New("account already exists")
	// ErrNotFound reports a stored item (roster item, room, binding, …) that
	// does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a write that conflicts with existing state.
	ErrConflict = errors.New("conflict")
	// ErrNotAuthorized reports credentials that do not verify or an action
	// the requester may not take.
	ErrNotAuthorized = errors.New("not authorized")
	// ErrForbidden reports an action refused by policy (blocking, bans).
	ErrForbidden = errors.New("forbidden")
	// ErrSlowConsumer reports an endpoint whose queue is full; the hub
	// disconnects it and keeps what it could not take.
	ErrSlowConsumer = errors.New("slow consumer")
	// ErrResourceConflict reports that a newer session took over the full
	// address an endpoint was bound to.
	ErrResourceConflict = errors.New("resource conflict")
	// ErrEndpointClosed reports delivery to an endpoint that has gone away.
	ErrEndpointClosed = errors.New("endpoint closed")
	// ErrRemoteNotSupported reports an address on a domain that is not
	// served here while no federation is configured.
	ErrRemoteNotSupported = errors.New("remote domains are not served")
	// ErrAccountGone reports that the account of a live session was deleted
	// or its credentials changed; the session is ended.
	ErrAccountGone = errors.New("account changed or deleted")
	// ErrShuttingDown reports that the hub is closing.
	ErrShuttingDown = errors.New("shutting down")
	// ErrMembersOnly reports a join to a members-only room by a non-member
	// (XEP-0045 registration-required).
	ErrMembersOnly = errors.New("members only")
	// ErrRoomFull reports a join to a room at its maximum of occupants.
	ErrRoomFull = errors.New("room is full")
)

// Sentinels lists every sentinel error of the core, so that frontends can
// test that their mapping tables cover all of them.
func Sentinels() []error {
	return []error{
		ErrInvalidAddress, ErrUnmappable, ErrNoSuchAccount, ErrAccountExists,
		ErrNotFound, ErrConflict, ErrNotAuthorized, ErrForbidden,
		ErrSlowConsumer, ErrResourceConflict, ErrEndpointClosed,
		ErrRemoteNotSupported, ErrAccountGone, ErrShuttingDown,
		ErrMembersOnly, ErrRoomFull,
	}
}
