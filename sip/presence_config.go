package sip

import "time"

// PresenceConfig configures SIP presence (SIMPLE): subscriptions (RFC
// 6665, RFC 3856, RFC 3857, RFC 4662) and publications (RFC 3903). Zero
// fields take the defaults documented on each.
type PresenceConfig struct {
	// MinNotifyInterval is the shortest time between two NOTIFYs of one
	// subscription (RFC 3856 §6.6 suggests one per 5 s); changes in between
	// are coalesced into the next. State changes (active, terminated) are
	// not held back. Default 5 s; a negative value disables the limit.
	MinNotifyInterval time.Duration
	// MinExpires, MaxExpires and DefaultExpires bound subscriptions and
	// publications (423 with Min-Expires below MinExpires). Defaults 60 s,
	// 7200 s, 3600 s.
	MinExpires, MaxExpires, DefaultExpires time.Duration
	// MaxSubscriptionsPerAccount bounds the live subscriptions one account
	// holds as a watcher; more are refused with 403. Default 64.
	MaxSubscriptionsPerAccount int
	// MaxPublicationsPerAccount bounds the live publications of one
	// account; more are refused with 403. Default 16.
	MaxPublicationsPerAccount int
	// NotifyTimeout bounds one NOTIFY transaction. Default 32 s (Timer F).
	NotifyTimeout time.Duration
	// MaxBodySize bounds a PUBLISH body. Default 16 KiB.
	MaxBodySize int
	// NotifyConcurrency bounds the NOTIFY transactions in flight at once,
	// so a fan-out does not overrun the watchers' (or our) socket buffers.
	// Default 64.
	NotifyConcurrency int
}

func (c PresenceConfig) withDefaults() PresenceConfig {
	if c.MinNotifyInterval == 0 {
		c.MinNotifyInterval = 5 * time.Second
	}
	if c.MinNotifyInterval < 0 {
		c.MinNotifyInterval = 0
	}
	if c.MinExpires <= 0 {
		c.MinExpires = 60 * time.Second
	}
	if c.MaxExpires <= 0 {
		c.MaxExpires = 7200 * time.Second
	}
	if c.DefaultExpires <= 0 {
		c.DefaultExpires = 3600 * time.Second
	}
	if c.MaxSubscriptionsPerAccount <= 0 {
		c.MaxSubscriptionsPerAccount = 64
	}
	if c.MaxPublicationsPerAccount <= 0 {
		c.MaxPublicationsPerAccount = 16
	}
	if c.NotifyTimeout <= 0 {
		c.NotifyTimeout = 32 * time.Second
	}
	if c.NotifyConcurrency <= 0 {
		c.NotifyConcurrency = 64
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = 16 << 10
	}
	return c
}
