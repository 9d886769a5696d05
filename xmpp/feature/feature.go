package feature

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"sort"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Types is a set of IQ types a registration takes.
type Types uint8

// IQ types (RFC 6120 §8.2.3).
const (
	Get Types = 1 << iota
	Set
)

// Target says whom an IQ must be addressed to for a registration to take it.
type Target uint8

// Targets.
const (
	// Server: no to, or the server's domain.
	Server Target = 1 << iota
	// Own: no to, or the sender's own bare address (roster, blocking, MAM).
	Own
	// Account: any local bare address, the sender's own included (disco
	// of an account, vCard, last activity of a contact).
	Account
	// RoomService: a room service domain (conference.example.com).
	RoomService
	// Room: a room's bare address (room@conference.example.com).
	Room
	// Occupant: room@service/nick.
	Occupant
)

// Session is what a handler may know of and do to the session an IQ came on.
type Session interface {
	// Addr is the session's full address.
	Addr() crosstalk.Address
	// Get and Set keep per-session feature state (carbons on, CSI state,
	// roster requested) under a key owned by the feature package.
	Get(key string) any
	Set(key string, v any)
	// Send queues a stanza for the session's client, after the handler's
	// own result; it never blocks.
	Send(stanza []byte) error
}

// IQ is a request for a handler.
type IQ struct {
	ID   string
	Type string // "get" or "set"
	// From is the session's full address (RFC 6120 §8.1.2.1 stamped).
	From crosstalk.Address
	// To is the addressee: zero for the server or the sender's account.
	To crosstalk.Address
	// Payload is the request's child element.
	Payload xmppmap.Element
	// Session is the session the IQ came on.
	Session Session
}

// Raw serialises the payload element with its namespace, for xml.Unmarshal.
func (iq *IQ) Raw() []byte {
	s := xmppmap.Stanza{Name: iq.Payload.XMLName.Local, Inner: iq.Payload.Inner}
	s.SetAttr("xmlns", iq.Payload.XMLName.Space)
	for _, a := range iq.Payload.Attrs {
		if a.Name.Space == "" && a.Name.Local != "xmlns" {
			s.Attrs = append(s.Attrs, a)
		}
	}
	return s.Bytes()
}

// Decode unmarshals the payload element into v.
func (iq *IQ) Decode(v any) error {
	if err := xml.Unmarshal(iq.Raw(), v); err != nil {
		return BadRequest(fmt.Sprintf("malformed <%s/>: %v", iq.Payload.XMLName.Local, err))
	}
	return nil
}

// HandlerFunc answers an IQ: the result's child element (nil for an empty
// result), or an error — an *Error, a core sentinel (mapped by package
// xmpp's table) or anything else (internal-server-error).
type HandlerFunc func(ctx context.Context, iq IQ) ([]byte, error)

// Registration binds an IQ payload to a handler and names the disco
// features it implements.
type Registration struct {
	Space, Local string
	Types        Types
	Target       Target
	// Features are the disco#info vars this handler implements, advertised
	// on the targets it serves.
	Features []string
	Handle   HandlerFunc
}

// Mux looks registrations up by payload name. Build it once; it is
// read-only afterwards and safe for concurrent use.
type Mux struct {
	regs []Registration
}

// NewMux returns a mux over regs.
func NewMux(regs ...[]Registration) *Mux {
	m := &Mux{}
	for _, r := range regs {
		m.regs = append(m.regs, r...)
	}
	return m
}

// Add adds registrations; call it before the mux is used.
func (m *Mux) Add(regs ...Registration) { m.regs = append(m.regs, regs...) }

// Lookup finds the handler for a payload, IQ type and target.
func (m *Mux) Lookup(space, local, typ string, target Target) (HandlerFunc, bool) {
	t := Get
	if typ == "set" {
		t = Set
	}
	for _, r := range m.regs {
		if r.Handle != nil && r.Space == space && r.Local == local && r.Types&t != 0 && r.Target&target != 0 {
			return r.Handle, true
		}
	}
	return nil, false
}

// Features returns the sorted disco features served on a target.
func (m *Mux) Features(target Target) []string {
	var out []string
	for _, r := range m.regs {
		if r.Target&target != 0 {
			for _, f := range r.Features {
				if !slices.Contains(out, f) {
					out = append(out, f)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Notifier sends stanzas to every live XMPP session of an account, for
// features whose changes are pushed (XEP-0191 block pushes, carbons).
type Notifier interface {
	// Notify renders a stanza for each live session of bare and queues it.
	Notify(bare crosstalk.Address, render func(full crosstalk.Address) []byte)
}
