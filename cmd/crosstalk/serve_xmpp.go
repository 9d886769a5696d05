package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/listen"
	"github.com/crosstalk-im/crosstalk/xmpp"
)

// startXMPP starts the c2s listeners that are configured (listen.xmpp_c2s
// with STARTTLS, listen.xmpp_tls with direct TLS) and, when components are
// configured, the XEP-0114 listener (listen.xmpp_component), and returns the function
// that stops them within its context, and the server for the handlers it
// serves on the HTTPS listener.
func startXMPP(ctx context.Context, c *Config, tlsConfig *tls.Config, hub *crosstalk.Hub, st crosstalk.Store, log zerolog.Logger) (*xmpp.Server, func(context.Context) error, error) {
	cfg := xmpp.Defaults()
	cfg.Domains = c.Domains
	cfg.TLS = tlsConfig
	cfg.StanzaSize = c.Limits.StanzaSize
	cfg.MailboxBytes = max(cfg.MailboxBytes, cfg.StanzaSize)
	cfg.ConnectionsPerIP = c.Limits.ConnectionsPerIP
	cfg.LoginFailuresPerMinute = c.Limits.LoginFailuresPerMinute
	cfg.SoftwareVersion = version
	// XEP-0484 FAST: tokens are derived from records in the store with
	// this key, kept in the data directory (xmpp/fast.go).
	key, err := keptSecret(c.DataDir, fastKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("xmpp: FAST key: %w", err)
	}
	cfg.FastKey = key
	for _, comp := range c.Components {
		cfg.Components = append(cfg.Components, xmpp.Component{Domain: comp.Domain, Secret: comp.Secret})
	}
	srv, err := xmpp.New(cfg, hub, st, log)
	if err != nil {
		return nil, nil, fmt.Errorf("xmpp: %w", err)
	}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}
	for _, l := range []struct {
		name, addr string
		serve      func(context.Context, net.Listener) error
	}{
		{"xmpp_c2s", c.Listen.XMPPClient, srv.Serve},
		{"xmpp_tls", c.Listen.XMPPDirectTLS, srv.ServeTLS},
		{"xmpp_component", c.Listen.XMPPComponent, srv.ServeComponents}, // XEP-0114
	} {
		if l.addr == "" || l.name == "xmpp_component" && len(c.Components) == 0 {
			continue
		}
		ln, err := listen.ClientFirst(ctx, l.addr)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s listener: %w", l.name, err)
		}
		lns = append(lns, ln)
		log.Info().Str("component", "xmpp").Str("listener", l.name).Str("addr", ln.Addr().String()).Msg("listening")
		go func() {
			if err := l.serve(ctx, ln); err != nil {
				log.Error().Err(err).Str("component", "xmpp").Str("listener", l.name).Msg("listener stopped")
			}
		}()
	}
	return srv, srv.Shutdown, nil
}
