package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/logging"
	"github.com/crosstalk-im/crosstalk/sip"
)

// SIPConfig tunes the SIP frontend beyond its listeners and limits.
type SIPConfig struct {
	// DigestAlgorithms are offered in this order in digest challenges.
	// Default ["SHA-256", "MD5"] (RFC 8760: the preferred first). Clients
	// that only read the first challenge and know only MD5 (sipp 3.6) need
	// ["MD5", "SHA-256"].
	DigestAlgorithms []string `toml:"digest_algorithms"`
	// RequestsPerSecond and RequestBurst bound the requests of one source
	// address (503 with Retry-After beyond). Defaults 50 and 100.
	RequestsPerSecond float64 `toml:"requests_per_second"`
	RequestBurst      int     `toml:"request_burst"`
	// MaxInFlight bounds the SIP requests handled at once, whatever their
	// source; beyond it 503 with Retry-After. Default 256.
	MaxInFlight int `toml:"max_in_flight"`
	// SendWindow is how many MESSAGEs one registration binding may have
	// in flight (sent in order; 1 waits for each answer, for UAs that
	// handle concurrent requests out of order). Default 32.
	SendWindow int `toml:"send_window"`
	// PresenceNotifySeconds is the shortest time between two NOTIFYs of one
	// presence subscription (RFC 3856 §6.6). Default 5; -1 disables it.
	PresenceNotifySeconds int `toml:"presence_notify_seconds"`
	// PresenceSubscriptionsPerAccount and PresencePublicationsPerAccount
	// bound what one account holds as a watcher and as a publisher.
	// Defaults 64 and 16.
	PresenceSubscriptionsPerAccount int `toml:"presence_subscriptions_per_account"`
	PresencePublicationsPerAccount  int `toml:"presence_publications_per_account"`
}

// startSIP starts the SIP frontend on listen.sip_udp, listen.sip_tcp and
// listen.sip_tls, and SIP over WebSocket on listen.https, with the limits
// of the configuration.
func startSIP(ctx context.Context, c *Config, hub *crosstalk.Hub, st crosstalk.Store, tlsConfig *tls.Config, log zerolog.Logger) (*sip.Server, error) {
	cfg := sip.Defaults()
	cfg.Domains = c.Domains
	cfg.UDP, cfg.TCP, cfg.TLS = c.Listen.SIPUDP, c.Listen.SIPTCP, c.Listen.SIPTLS
	cfg.TLSConfig = tlsConfig
	cfg.WebSocket = c.Listen.HTTPS != "" // RFC 7118 on the HTTPS listener
	cfg.MaxMessageSize = c.Limits.SIPMessageSize
	cfg.LoginFailuresPerMinute = c.Limits.LoginFailuresPerMinute
	cfg.ConnectionsPerIP = c.Limits.ConnectionsPerIP
	if c.SIP.RequestsPerSecond > 0 {
		cfg.RequestsPerSecond = c.SIP.RequestsPerSecond
	}
	if c.SIP.RequestBurst > 0 {
		cfg.RequestBurst = c.SIP.RequestBurst
	}
	if c.SIP.MaxInFlight > 0 {
		cfg.MaxInFlight = c.SIP.MaxInFlight
	}
	if c.SIP.SendWindow > 0 {
		cfg.SendWindow = c.SIP.SendWindow
	}
	if len(c.SIP.DigestAlgorithms) > 0 {
		cfg.DigestAlgorithms = c.SIP.DigestAlgorithms
	}
	switch n := c.SIP.PresenceNotifySeconds; {
	case n < 0:
		cfg.Presence.MinNotifyInterval = -1
	case n > 0:
		cfg.Presence.MinNotifyInterval = time.Duration(n) * time.Second
	}
	cfg.Presence.MaxSubscriptionsPerAccount = c.SIP.PresenceSubscriptionsPerAccount
	cfg.Presence.MaxPublicationsPerAccount = c.SIP.PresencePublicationsPerAccount
	if cfg.UDP == "" && cfg.TCP == "" && cfg.TLS == "" && !cfg.WebSocket {
		return nil, nil
	}
	// sipgo logs some transport events through its package logger: send
	// them through zerolog too (the one place allowed to set it, once).
	// sipgo refuses any UDP datagram over 1300 bytes, responses included;
	// RFC 3261 §18.2.2 has no size switch for responses (a REGISTER 200
	// lists every binding), so they go back over UDP at any size, as
	// Kamailio sends them. Requests over 1300 bytes are moved to TCP by the
	// sip package itself (§18.1.1). The one place allowed to set it, once.
	sipmsg.UDPMTUSize = 65507 + 200
	sipmsg.SetDefaultLogger(logging.Slog(log.With().Str("component", "sipgo").Logger().Level(max(log.GetLevel(), zerolog.WarnLevel))))
	srv, err := sip.New(cfg, hub, st, log)
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	return srv, nil
}
