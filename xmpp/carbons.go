package xmpp

import (
	"slices"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/carbons"
)

// TakesCopies says the hub may hand this session copies of what its
// account sends from, or receives only on, other protocols
// (crosstalk.CopyTaker): only when carbons are on, so the others are not
// sent what they would drop.
func (s *session) TakesCopies() bool { return carbons.Enabled(s) }

var _ crosstalk.CopyTaker = (*session)(nil)

// carbonsSent copies a message a session sent to the account's other
// sessions that enabled carbons (XEP-0280 §7).
func (srv *Server) carbonsSent(from *session, m *crosstalk.Message) {
	if !carbons.Eligible(m) || srv.occupantPM(m) {
		return
	}
	bare := from.addr.Bare()
	for _, other := range srv.local.of(bare) {
		if other != from && carbons.Enabled(other) {
			if err := other.trySend(carbons.Wrap("sent", bare, other.addr, m)); err != nil {
				other.log.Debug().Err(err).Msg("sent carbon dropped")
			}
		}
	}
}

// carbonsReceived copies a message delivered to one resource to the
// account's other sessions that enabled carbons and did not get it
// themselves (XEP-0280 §6). For a message to the full address that is
// every other session; for one to the bare address, the hub chose the
// available resources of highest non-negative priority (RFC 6121 §8.5.2),
// so the others get the copy — sent once, by the first recipient in
// address order.
func (srv *Server) carbonsReceived(to *session, m *crosstalk.Message) {
	if !carbons.Eligible(m) || srv.occupantPM(m) || (m.To != to.addr && m.To != to.addr.Bare()) {
		return
	}
	bare := to.addr.Bare()
	sessions := srv.local.of(bare)
	if !slices.ContainsFunc(sessions, carbonsOn) {
		return // the common case, and no copy to send: spare the recipients' look-up
	}
	got := map[crosstalk.Address]bool{to.addr: true}
	if m.To.IsBare() {
		got = srv.bareRecipients(bare)
		for a := range got {
			if a.String() < to.addr.String() {
				return // an earlier recipient sends the copies
			}
		}
	}
	for _, other := range sessions {
		if !got[other.addr] && carbons.Enabled(other) {
			if err := other.trySend(carbons.Wrap("received", bare, other.addr, m)); err != nil {
				other.log.Debug().Err(err).Msg("received carbon dropped")
			}
		}
	}
}

// carbonsOn reports whether a session enabled carbons.
func carbonsOn(s *session) bool { return carbons.Enabled(s) }

// bareRecipients returns the resources a message to bare goes to: the
// available ones with the highest non-negative priority.
func (srv *Server) bareRecipients(bare crosstalk.Address) map[crosstalk.Address]bool {
	best := int8(-1)
	out := make(map[crosstalk.Address]bool)
	for _, p := range srv.hub.PresenceOf(bare) {
		switch {
		case p.Priority < 0:
		case p.Priority > best:
			best = p.Priority
			clear(out)
			out[p.From] = true
		case p.Priority == best:
			out[p.From] = true
		}
	}
	return out
}

// occupantPM reports a private message to or from a room occupant
// (room@service/nick), which is not copied: the account's other resources
// are not in the room and could not answer it (XEP-0280 §6, XEP-0045 §7.5).
func (srv *Server) occupantPM(m *crosstalk.Message) bool {
	return !m.From.IsBare() && srv.hub.IsRoomService(m.From) || !m.To.IsBare() && srv.hub.IsRoomService(m.To)
}
