package xmpp

import (
	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/pep"
)

// pepPeer is a live session as package pep sees it: notifications are
// queued without blocking the publisher.
type pepPeer struct{ *session }

// TrySend queues a stanza without blocking.
func (p pepPeer) TrySend(stanza []byte) error { return p.trySend(stanza) }

// Peers returns the live sessions of a bare address, for PEP notifications.
func (s *Server) Peers(bare crosstalk.Address) []pep.Peer {
	sessions := s.local.of(bare.Bare())
	out := make([]pep.Peer, 0, len(sessions))
	for _, sess := range sessions {
		out = append(out, pepPeer{sess})
	}
	return out
}

var _ pep.Peers = (*Server)(nil)
