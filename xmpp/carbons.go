package xmpp

import (
	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/carbons"
)

// carbonsSent copies a message a session sent to the account's other
// sessions that enabled carbons (XEP-0280 §7).
func (srv *Server) carbonsSent(from *session, m *crosstalk.Message) {
	if !carbons.Eligible(m) {
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

// carbonsReceived copies a message delivered to one resource by its full
// address to the account's other sessions that enabled carbons (XEP-0280
// §6). Messages to the bare address already reach every top-priority
// resource through the hub.
func (srv *Server) carbonsReceived(to *session, m *crosstalk.Message) {
	if m.To != to.addr || !carbons.Eligible(m) {
		return
	}
	bare := to.addr.Bare()
	for _, other := range srv.local.of(bare) {
		if other != to && carbons.Enabled(other) {
			if err := other.trySend(carbons.Wrap("received", bare, other.addr, m)); err != nil {
				other.log.Debug().Err(err).Msg("received carbon dropped")
			}
		}
	}
}
