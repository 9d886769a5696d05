package crosstalk

import (
	"context"
	"fmt"
)

// blockSet is an online account's blocklist, matched as XEP-0191 §3.5 says:
// an entry blocks the exact full address, a bare entry every resource of it,
// a domain entry the whole domain, a domain/resource entry that resource.
type blockSet map[Address]bool

func (s blockSet) blocks(from Address) bool {
	if len(s) == 0 {
		return false
	}
	domain := Address{domain: from.domain}
	return s[from] || s[from.Bare()] || s[domain] || s[Address{domain: from.domain, resource: from.resource}]
}

// isBlocked reports whether owner blocks from, from the cached list while
// owner is online and from the store otherwise.
func (h *Hub) isBlocked(ctx context.Context, owner, from Address) (bool, error) {
	h.mu.RLock()
	acct := h.accounts[owner]
	var set blockSet
	if acct != nil {
		set = acct.blocked
	}
	h.mu.RUnlock()
	if set != nil {
		return set.blocks(from), nil
	}
	if acct == nil {
		return h.store.IsBlocked(ctx, owner, from)
	}
	list, err := h.store.Blocklist(ctx, owner)
	if err != nil {
		return false, err
	}
	set = make(blockSet, len(list))
	for _, a := range list {
		set[a] = true
	}
	h.mu.Lock()
	if acct := h.accounts[owner]; acct != nil {
		acct.blocked = set
	}
	h.mu.Unlock()
	return set.blocks(from), nil
}

// blocklistChanged drops owner's cached blocklist.
func (h *Hub) blocklistChanged(owner Address) {
	h.mu.Lock()
	if acct := h.accounts[owner]; acct != nil {
		acct.blocked = nil
	}
	h.mu.Unlock()
	h.obs.rosterChanged(owner)
}

// Block adds addresses to owner's blocklist (XEP-0191). Blocklists must be
// changed through the hub, which caches them for online accounts.
func (h *Hub) Block(ctx context.Context, owner Address, addrs ...Address) error {
	owner = owner.Bare()
	defer h.blocklistChanged(owner)
	if err := h.store.Block(ctx, owner, addrs...); err != nil {
		return fmt.Errorf("block for %s: %w", owner, err)
	}
	return nil
}

// Unblock removes addresses from owner's blocklist; with none, it empties it.
func (h *Hub) Unblock(ctx context.Context, owner Address, addrs ...Address) error {
	owner = owner.Bare()
	defer h.blocklistChanged(owner)
	if err := h.store.Unblock(ctx, owner, addrs...); err != nil {
		return fmt.Errorf("unblock for %s: %w", owner, err)
	}
	return nil
}
