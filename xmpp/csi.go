package xmpp

import (
	"bytes"
	"sync/atomic"

	"github.com/crosstalk-im/crosstalk"
)

// nsCSI is XEP-0352 Client State Indication.
const nsCSI = "urn:xmpp:csi:0"

// maxHeldPresence bounds the presence held for an inactive client; past it
// the held presence is flushed.
const maxHeldPresence = 512

// csiState holds presence for a client that said it is inactive (XEP-0352
// §6): only the latest presence of each sender is kept, and everything
// held is written before the next message or when the client is active
// again. inactive is set by the reader; held belongs to the writer.
type csiState struct {
	inactive atomic.Bool
	held     map[crosstalk.Address][]byte
	order    []crosstalk.Address
}

// onCSI takes an <active/> or <inactive/> nonza from the reader.
func (s *session) onCSI(local string) error {
	switch local {
	case "inactive":
		s.csi.inactive.Store(true)
	case "active":
		s.csi.inactive.Store(false)
		s.queue(outItem{}) // wakes the writer to flush what it held
	default:
		return newStreamError(condUnsupportedStanza, "<"+local+"/> in "+nsCSI)
	}
	return nil
}

// hold keeps a presence while the client is inactive; false means write it
// now. Writer only.
func (s *session) hold(p *crosstalk.Presence, b []byte) bool {
	if !s.csi.inactive.Load() {
		return false
	}
	if s.csi.held == nil {
		s.csi.held = make(map[crosstalk.Address][]byte)
	}
	if _, ok := s.csi.held[p.From]; !ok {
		if len(s.csi.order) >= maxHeldPresence {
			return false
		}
		s.csi.order = append(s.csi.order, p.From)
	}
	s.csi.held[p.From] = b
	return true
}

// flushHeld writes the held presence, oldest sender first. Writer only.
func (s *session) flushHeld(buf *bytes.Buffer) {
	for _, a := range s.csi.order {
		s.emit(buf, s.csi.held[a], nil)
	}
	clear(s.csi.held)
	s.csi.order = s.csi.order[:0]
}
