package crosstalk

import "context"

// copySent hands a copy of a message a local account sent to the
// account's endpoints that speak another protocol than the one it was sent
// with (the protocol of its Native payload) and take copies
// (CopyTaker), marked SentCopy: what alice types on her phone shows on
// her XMPP clients as XEP-0280 sent carbons. Endpoints of the sending
// protocol are left to their frontend, which copies within its protocol
// itself (XMPP carbons keep every extension element) or has no such copies
// (SIP). Presence-only endpoints, room traffic, errors, headlines and
// copies themselves are not copied. An endpoint that cannot take the copy
// is disconnected, as for any event.
func (h *Hub) copySent(ctx context.Context, m *Message) {
	if m.SentCopy || (m.Type != MessageChat && m.Type != MessageNormal) || m.Native.Protocol == ProtocolNone {
		return
	}
	from := m.From.Bare()
	if !h.IsLocal(from) || from.Local() == "" || h.isRoomDomain(m.To.Domain()) || h.isRoomDomain(from.Domain()) {
		return
	}
	var targets []*binding
	h.mu.RLock()
	if acct := h.accounts[from]; acct != nil {
		for _, b := range acct.bindings {
			if _, ok := b.ep.(CopyTaker); ok && b.ep.Protocol() != m.Native.Protocol && b.addr != m.From && b.presence != nil {
				targets = append(targets, b)
			}
		}
	}
	h.mu.RUnlock()
	h.deliverCopies(ctx, targets, m, func(c *Message) { c.SentCopy = true })
}

// deliverCopies hands one copy of m, marked by mark, to those of targets
// whose endpoints take copies now; the copy is made at the first taker.
func (h *Hub) deliverCopies(ctx context.Context, targets []*binding, m *Message, mark func(*Message)) {
	var c *Message
	for _, b := range targets {
		if !b.ep.(CopyTaker).TakesCopies() { // asked outside the hub's lock
			continue
		}
		if c == nil {
			cp := *m
			mark(&cp)
			c = &cp
		}
		if err := b.ep.Deliver(c); err != nil {
			h.dropEndpoint(ctx, b, err)
		}
	}
}

// protoSet is a set of protocols, one bit each.
type protoSet uint8

func protoBit(p Protocol) protoSet { return 1 << p }

// copyReceived hands a copy of a message a local account received, marked
// ReceivedCopy, to the account's available endpoints of the protocols none
// of whose endpoints got it (got) and that take copies (CopyTaker): a
// message to alice's bare address that the routing policy gave to her
// phone only, or one to her phone's full address, shows on her XMPP
// clients as an XEP-0280 received carbon, so they see the whole
// conversation. When an endpoint of a protocol got the message, copies to
// that protocol's other endpoints are its frontend's business (xmpp/ sends
// received carbons itself, keeping every extension element). Room
// traffic, errors, headlines and copies themselves are not copied.
func (h *Hub) copyReceived(ctx context.Context, m *Message, got protoSet) {
	if m.SentCopy || m.ReceivedCopy || (m.Type != MessageChat && m.Type != MessageNormal) || h.isRoomDomain(m.From.Domain()) {
		return
	}
	var targets []*binding
	h.mu.RLock()
	if acct := h.accounts[m.To.Bare()]; acct != nil && len(acct.bindings) > 1 {
		for _, b := range acct.bindings {
			if _, ok := b.ep.(CopyTaker); ok && got&protoBit(b.ep.Protocol()) == 0 && b.presence != nil {
				targets = append(targets, b)
			}
		}
	}
	h.mu.RUnlock()
	h.deliverCopies(ctx, targets, m, func(c *Message) { c.ReceivedCopy = true })
}
