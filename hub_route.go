package crosstalk

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RouteMessage routes a message from m.From to m.To (RFC 6121 §8.5): to the
// bound endpoint of a full address, to the chosen endpoints of a bare
// address, to offline storage when the account has no available endpoint, or
// to federation for another domain. It returns ErrNoSuchAccount for an
// unknown local account and ErrForbidden when the recipient blocks the
// sender; the message is then not delivered.
//
// A chat or normal message that a local account sends through one protocol
// is also copied, marked SentCopy, to the account's endpoints of the other
// protocols (sent carbons across protocols, see copySent).
func (h *Hub) RouteMessage(ctx context.Context, m *Message) error {
	if m.Time.IsZero() {
		m.Time = h.now()
	}
	if err := h.routeMessage(ctx, m); err != nil {
		return err
	}
	h.copySent(ctx, m)
	return nil
}

func (h *Hub) routeMessage(ctx context.Context, m *Message) error {
	to := m.To
	if h.isRoomDomain(to.Domain()) {
		return h.roomMessage(ctx, m)
	}
	if !h.IsLocal(to) {
		return h.routeRemote(ctx, m)
	}
	if to.Local() == "" {
		return fmt.Errorf("message to %s: %w: the server itself takes no messages here", to, ErrNotFound)
	}
	if blocked, err := h.isBlocked(ctx, to.Bare(), m.From); err != nil {
		return fmt.Errorf("message to %s: %w", to, err)
	} else if blocked {
		return fmt.Errorf("message to %s: %w: blocked", to, ErrForbidden)
	}
	if m.Type == MessageError && to.IsBare() {
		return nil // errors go to the resource that caused them, or nowhere
	}
	if !to.IsBare() {
		if b := h.lookup(to); b != nil { // §8.5.3.1: a bound resource gets it
			if h.deliver(ctx, b, m) {
				h.copyReceived(ctx, m, protoBit(b.ep.Protocol()))
				return h.archive(ctx, m)
			}
		}
		switch m.Type {
		case MessageChat, MessageNormal: // §8.5.3.2.1: treat as addressed to the bare address
		case MessageGroupchat:
			return fmt.Errorf("groupchat to %s: %w", to, ErrNotFound)
		default:
			return nil // headline and error: silently dropped
		}
	}
	return h.routeBare(ctx, m, to.Bare())
}

// routeBare delivers to the endpoints RFC 6121 §8.5.2 chooses, or stores
// offline.
func (h *Hub) routeBare(ctx context.Context, m *Message, bare Address) error {
	if m.Type == MessageGroupchat {
		return fmt.Errorf("groupchat to %s: %w", bare, ErrNotFound)
	}
	var got protoSet // the protocols of the endpoints that got it
	for _, b := range h.chooseBare(bare, m.Type) {
		if h.deliver(ctx, b, m) {
			got |= protoBit(b.ep.Protocol())
		}
	}
	if got != 0 {
		h.copyReceived(ctx, m, got)
		return h.archive(ctx, m)
	}
	if m.Type != MessageChat && m.Type != MessageNormal {
		return nil
	}
	if _, err := h.store.GetAccount(ctx, bare); err != nil {
		return fmt.Errorf("message to %s: %w", bare, err)
	}
	if err := h.store.PushOffline(ctx, bare, *m); err != nil {
		return fmt.Errorf("store offline message for %s: %w", bare, err)
	}
	// An endpoint may have become available, and claimed the offline queue,
	// between the choice above and the push: hand the queue to it now. The
	// claim is atomic, so the message still goes out once.
	if bs := h.chooseBare(bare, m.Type); len(bs) > 0 {
		h.deliverOffline(ctx, bs[0])
	}
	return h.archive(ctx, m)
}

// chooseBare picks the endpoints of a bare address that a message of type t
// goes to: the available ones with the highest non-negative priority (all
// non-negative ones for headlines).
func (h *Hub) chooseBare(bare Address, t MessageType) []*binding {
	h.mu.RLock()
	defer h.mu.RUnlock()
	acct := h.accounts[bare]
	if acct == nil {
		return nil
	}
	var out []*binding
	best := int8(-1)
	for _, b := range acct.bindings {
		if b.presence == nil || b.presence.Priority < 0 || isPresenceSource(b.ep) {
			continue
		}
		p := b.presence.Priority
		switch {
		case t == MessageHeadline:
			out = append(out, b)
		case p > best:
			best = p
			out = append(out[:0], b)
		case p == best:
			out = append(out, b)
		}
	}
	return out
}

func (h *Hub) routeRemote(ctx context.Context, ev Event) error {
	if handled, err := h.routeDomain(eventTo(ev).Domain(), ev); handled {
		return err
	}
	if h.cfg.Remote == nil {
		return ErrRemoteNotSupported
	}
	return h.cfg.Remote.RouteRemote(ctx, ev)
}

// RouteQuery routes a request or response to the endpoint at a full
// address, or to federation. A bare or unbound address gives ErrNotFound,
// which frontends answer with service-unavailable (RFC 6120 §8.5.3.1).
func (h *Hub) RouteQuery(ctx context.Context, q *Query) error {
	if !h.IsLocal(q.To) {
		return h.routeRemote(ctx, q)
	}
	b := h.lookup(q.To)
	if q.To.IsBare() || b == nil {
		return fmt.Errorf("query to %s: %w", q.To, ErrNotFound)
	}
	if !h.deliver(ctx, b, q) {
		return fmt.Errorf("query to %s: %w", q.To, ErrEndpointClosed)
	}
	return nil
}

// Offline delivery is batched: a backlog larger than an endpoint's queue
// is handed over as the queue drains, never by disconnecting the endpoint.
const (
	// offlineBatch is how many offline messages one claim takes.
	offlineBatch = 256
	// offlineRetry is how long to wait before offering the rest of a
	// backlog to an endpoint whose queue was full.
	offlineRetry = 500 * time.Millisecond
	// offlineRetries bounds those waits; what is left after them waits for
	// the account's next initial presence.
	offlineRetries = 120
)

// deliverOffline hands an account's stored messages to one endpoint that
// has just sent initial presence, in order, marked Delayed. When the
// endpoint's queue is full the rest is stored again and offered once more
// shortly; an endpoint that has gone is dropped and the rest stays stored.
func (h *Hub) deliverOffline(ctx context.Context, b *binding) {
	h.offerOffline(ctx, b, offlineRetries)
}

func (h *Hub) offerOffline(ctx context.Context, b *binding, retries int) {
	for {
		msgs, err := h.store.ClaimOffline(ctx, b.addr.Bare(), offlineBatch)
		if err != nil {
			h.log.Error().Err(err).Str("jid", b.addr.String()).Msg("claiming offline messages failed")
			return
		}
		for i := range msgs {
			m := msgs[i].Message
			m.Delayed = true
			err := b.ep.Deliver(&m)
			if err == nil {
				continue
			}
			h.restoreOffline(ctx, b.addr, msgs[i:])
			if errors.Is(err, ErrSlowConsumer) && retries > 0 {
				time.AfterFunc(offlineRetry, func() {
					if h.lookup(b.addr) == b && h.isAvailable(b) {
						h.offerOffline(context.Background(), b, retries-1)
					}
				})
				return
			}
			h.dropEndpoint(ctx, b, err)
			return
		}
		if len(msgs) < offlineBatch {
			return
		}
	}
}

// restoreOffline stores claimed messages of an account (owner, or its
// bare address) again, in order, even when the caller's context has
// ended: they must not be lost.
func (h *Hub) restoreOffline(ctx context.Context, owner Address, rest []OfflineMessage) {
	ctx = context.WithoutCancel(ctx)
	for _, r := range rest {
		if err := h.store.PushOffline(ctx, owner.Bare(), r.Message); err != nil && !errors.Is(err, context.Canceled) {
			h.log.Error().Err(err).Str("jid", owner.String()).Msg("re-storing an offline message failed")
		}
	}
}
