package crosstalk

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"
)

// SKELETON: the hub's public API; the implementation replaces these bodies.

// RemoteRouter hands events for other domains to federation. The core
// defines it; federation/ implements it.
type RemoteRouter interface {
	RouteRemote(ctx context.Context, ev Event) error
}

// HubConfig configures a Hub.
type HubConfig struct {
	// Domains are the domains served here; any other is remote.
	Domains []string
	// Remote routes to other domains; nil refuses them with ErrRemoteNotSupported.
	Remote RemoteRouter
	// Now returns the time; nil means time.Now.
	Now func() time.Time
}

// Hub routes events between endpoints, fans out presence, keeps offline
// messages and runs the subscription state machine.
type Hub struct {
	cfg   HubConfig
	store Store
	log   zerolog.Logger
}

// NewHub returns a hub over store.
func NewHub(cfg HubConfig, store Store, log zerolog.Logger) *Hub {
	return &Hub{cfg: cfg, store: store, log: log.With().Str("component", "hub").Logger()}
}

// Bind binds ep under want (a full address, or bare to have a resource
// generated) and returns the address it is bound under.
func (h *Hub) Bind(ctx context.Context, want Address, ep Endpoint) (Address, error) {
	return Address{}, errors.New("hub: not implemented")
}

// Close ends every endpoint with ErrShuttingDown.
func (h *Hub) Close(ctx context.Context) error { return nil }
