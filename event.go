package crosstalk

// Event is what the hub delivers to an endpoint. The set is closed: *Message,
// *Presence, *RosterPush, *Query and *Disconnect.
type Event interface {
	// Size estimates the bytes the event holds, for queue budgets.
	Size() int
	event()
}

func (*Message) event()    {}
func (*Presence) event()   {}
func (*RosterPush) event() {}
func (*Query) event()      {}
func (*Disconnect) event() {}

// Size estimates the bytes the presence holds.
func (p *Presence) Size() int { return len(p.Status) + len(p.Native.Payload) + 64 }

// RosterPush tells an account's endpoints that a roster item changed or was
// removed (RFC 6121 §2.1.6).
type RosterPush struct {
	// Owner is the bare address whose roster changed.
	Owner Address
	Item  RosterItem
	// Removed is true when the item was deleted.
	Removed bool
	// Version is the roster version after the change.
	Version int64
}

// Size estimates the bytes the push holds.
func (r *RosterPush) Size() int { return len(r.Item.Name) + 16*len(r.Item.Groups) + 96 }

// QueryType is the kind of a request/response exchange.
type QueryType uint8

// Query types (RFC 6120 §8.2.3).
const (
	QueryGet QueryType = iota
	QuerySet
	QueryResult
	QueryError
)

// Query is a request or response between two endpoints that the core routes
// without understanding (an XMPP IQ, a SIP OPTIONS): only Native is
// meaningful to the receiver.
type Query struct {
	ID     string
	From   Address
	To     Address
	Type   QueryType
	Native Native
}

// Size estimates the bytes the query holds.
func (q *Query) Size() int { return len(q.ID) + len(q.Native.Payload) + 64 }

// Disconnect tells an endpoint that the hub has ended it, and why
// (ErrResourceConflict, ErrAccountGone, ErrSlowConsumer, ErrShuttingDown).
type Disconnect struct {
	Reason error
}

// Size estimates the bytes the event holds.
func (*Disconnect) Size() int { return 16 }
