package crosstalk

import "context"

// copySent hands a copy of a message a local account sent to the
// account's endpoints that speak another protocol than the one it was sent
// with (the protocol of its Native payload) and take copies
// (SentCopyTaker), marked SentCopy: what alice types on her phone shows on
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
			if _, ok := b.ep.(SentCopyTaker); ok && b.ep.Protocol() != m.Native.Protocol && b.addr != m.From && b.presence != nil {
				targets = append(targets, b)
			}
		}
	}
	h.mu.RUnlock()
	var c *Message
	for _, b := range targets {
		if !b.ep.(SentCopyTaker).TakesSentCopies() { // asked outside the hub's lock
			continue
		}
		if c == nil {
			cp := *m
			cp.SentCopy = true
			c = &cp
		}
		if err := b.ep.Deliver(c); err != nil {
			h.dropEndpoint(ctx, b, err)
		}
	}
}
