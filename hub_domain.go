package crosstalk

import (
	"context"
	"fmt"
	"slices"
)

// A service domain is a domain that is neither served by the hub's own
// accounts nor remote: one external endpoint serves every address at it (an
// XMPP external component, XEP-0114; a gateway). The frontend that
// authenticates such an endpoint binds it with BindDomain; the hub then
// hands it every event it would otherwise give to federation for that
// domain. While none is bound, events to the domain fail with
// ErrEndpointClosed: the service exists but is not available now, which
// frontends answer with service-unavailable (RFC 6120 §8.3.3.19) rather
// than remote-server-not-found.

// BindDomain binds ep as the one endpoint serving domain, which must be one
// of HubConfig.ServiceDomains. A domain already bound gives ErrConflict: the
// endpoint already there keeps it.
func (h *Hub) BindDomain(ctx context.Context, domain string, ep Endpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !h.IsServiceDomain(domain) {
		return fmt.Errorf("bind domain %s: %w: not a service domain", domain, ErrInvalidAddress)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrShuttingDown
	}
	if h.domainEPs[domain] != nil {
		return fmt.Errorf("bind domain %s: %w: already bound", domain, ErrConflict)
	}
	h.domainEPs[domain] = ep
	return nil
}

// UnbindDomain removes ep from domain if it is still the endpoint bound
// there.
func (h *Hub) UnbindDomain(domain string, ep Endpoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.domainEPs[domain] == ep {
		delete(h.domainEPs, domain)
	}
}

// IsServiceDomain reports whether domain is one of HubConfig.ServiceDomains.
func (h *Hub) IsServiceDomain(domain string) bool {
	return slices.Contains(h.cfg.ServiceDomains, domain)
}

// BoundDomains returns the service domains that have an endpoint bound now,
// in the order of HubConfig.ServiceDomains.
func (h *Hub) BoundDomains() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []string
	for _, d := range h.cfg.ServiceDomains {
		if h.domainEPs[d] != nil {
			out = append(out, d)
		}
	}
	return out
}

// routeDomain hands ev to the endpoint bound at a service domain. It
// returns handled false when domain is not a service domain. An endpoint
// that refuses the event is unbound and closed.
func (h *Hub) routeDomain(domain string, ev Event) (handled bool, err error) {
	if !h.IsServiceDomain(domain) {
		return false, nil
	}
	h.mu.RLock()
	ep := h.domainEPs[domain]
	h.mu.RUnlock()
	if ep == nil {
		return true, fmt.Errorf("to %s: %w: the service is not connected", domain, ErrEndpointClosed)
	}
	if err := ep.Deliver(ev); err != nil {
		h.UnbindDomain(domain, ep)
		ep.Close(err)
		return true, fmt.Errorf("to %s: %w", domain, ErrEndpointClosed)
	}
	return true, nil
}

// eventTo returns the address an event is sent to.
func eventTo(ev Event) Address {
	switch e := ev.(type) {
	case *Message:
		return e.To
	case *Presence:
		return e.To
	case *Query:
		return e.To
	}
	return Address{}
}
