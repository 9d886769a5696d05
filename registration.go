package crosstalk

import (
	"strconv"
	"time"
)

// Registration is one SIP registration binding (RFC 3261 §10) of an address
// of record. Each binding is an endpoint of its own in the hub, under
// AOR/Resource.
type Registration struct {
	// AOR is the bare address of record.
	AOR Address
	// Contact is the contact URI the binding delivers to.
	Contact string
	// InstanceID is the +sip.instance of RFC 5626, empty if not given.
	InstanceID string
	// RegID is the reg-id of RFC 5626, 0 if not given.
	RegID int
	// Resource names the binding as a hub endpoint.
	Resource string
	CallID   string
	CSeq     uint32
	// Q is the q-value in thousandths (0–1000).
	Q int
	// Path is the Path header values of RFC 3327, in order.
	Path []string
	// Received is the source address the REGISTER came from (transport:host:port).
	Received  string
	UserAgent string
	Expires   time.Time
}

// Key identifies the binding within its AOR: the instance and reg-id when
// given (RFC 5626), the contact URI otherwise.
func (r *Registration) Key() string {
	if r.InstanceID != "" {
		return r.InstanceID + "#" + strconv.Itoa(r.RegID)
	}
	return r.Contact
}
