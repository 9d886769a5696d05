package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/api"
	"github.com/crosstalk-im/crosstalk/internal/tlscert"
	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
	"github.com/crosstalk-im/crosstalk/sip/xcap"
	"github.com/crosstalk-im/crosstalk/xmpp"
)

// shutdownGrace bounds a graceful stop.
const shutdownGrace = 5 * time.Second

// newLogger builds the root logger: JSON, or pretty on a terminal.
func newLogger(c *Config, w io.Writer) zerolog.Logger {
	level, _ := zerolog.ParseLevel(c.Log.Level)
	pretty := c.Log.Format == "pretty"
	if c.Log.Format == "auto" {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			pretty = true
		}
	}
	if pretty {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// cmdServe runs the server until ctx ends, then stops within shutdownGrace.
// The wiring below is the one ordered list of what the server runs.
func cmdServe(ctx context.Context, e env, args []string) error {
	start := time.Now()
	c, pos, err := loadConfig(e, "serve", args, nil)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"serve takes no arguments"}
	}
	log := newLogger(&c, e.stderr)

	// Storage (store/sqlite by default, store/postgres for a postgres:// URL).
	st, err := openStore(ctx, &c, log)
	if err != nil {
		return err
	}
	defer st.Close()

	// TLS: the operator's files, or a kept self-signed certificate.
	var cert tls.Certificate
	if c.TLS.CertFile != "" {
		cert, err = tlscert.Load(c.TLS.CertFile, c.TLS.KeyFile)
	} else {
		var path string
		cert, path, err = tlscert.SelfSigned(c.DataDir, c.Domains, time.Now())
		log.Info().Str("cert", path).Msg("using a self-signed certificate")
	}
	if err != nil {
		return err
	}
	tlsConfig := tlscert.Config(cert)
	if !c.TLS.PostQuantum {
		tlscert.ClassicKeyExchange(tlsConfig)
	}

	// The core, with a room service (XEP-0045) at conference.<domain>.
	roomDomains := make([]string, len(c.Domains))
	for i, d := range c.Domains {
		roomDomains[i] = "conference." + d
	}
	occupantKey, err := keptSecret(c.DataDir, occupantIDKeyFile)
	if err != nil {
		return err
	}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: c.Domains, Archive: c.Archive, RoomDomains: roomDomains, OccupantIDKey: occupantKey, LockNewRooms: c.Rooms.LockNew,
		ServiceDomains: c.componentDomains()}, st, log) // XEP-0114 components serve their domains

	// XCAP (RFC 4825): the roster and blocklist as SIP buddy-list documents,
	// mounted at /xcap-root/ on the HTTPS listener below (sip/xcap/README.md).
	xcapCfg := xcap.Defaults()
	xcapCfg.LoginFailuresPerMinute = c.Limits.LoginFailuresPerMinute
	xcapHandler, err := xcap.New(xcapCfg, hub, st, func(r io.Reader, n int64, v any) error {
		return xmlguard.Decode(r, xmlguard.DocumentLimits(n), v)
	}, log)
	if err != nil {
		return fmt.Errorf("xcap: %w", err)
	}

	// XMPP c2s (RFC 6120, RFC 6121): STARTTLS on xmpp_c2s, direct TLS (XEP-0368) on xmpp_tls.
	xmppSrv, stopXMPP, err := startXMPP(ctx, &c, tlsConfig, hub, st, log)
	if err != nil {
		return err
	}

	// Frontends that do not exist yet are not started.
	for name, addr := range map[string]string{
		"xmpp_s2s (RFC 6120)": c.Listen.XMPPServer,
	} {
		if addr != "" {
			log.Info().Str("listener", name).Str("addr", addr).Msg("listener not started: its frontend is not built yet")
		}
	}

	// SIP (RFC 3261 registrar and proxy, RFC 3428 MESSAGE): sip/README.md.
	sipSrv, err := startSIP(ctx, &c, hub, st, tlsConfig, log)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		return errors.Join(err, stopXMPP(sctx))
	}

	// HTTPS: /healthz and /metrics.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	allow, _ := c.operatorPrefixes()
	handler := api.New(api.Config{OperatorAllow: allow}, st, reg, log)

	handler.Handle(xcapCfg.Root+"/", xcapHandler) // XCAP (RFC 4825): sip/xcap/README.md
	// XMPP over WebSocket (RFC 7395) and its discovery (XEP-0156, public by design): xmpp/README.md.
	handler.Handle("GET "+xmpp.WebSocketPath, xmppSrv.WebSocket(ctx))
	handler.Handle("GET /.well-known/host-meta", xmppSrv.HostMeta())
	handler.Handle("GET /.well-known/host-meta.json", xmppSrv.HostMeta())
	withSIPWebSocket := sipSrv.WebSocket(handler) // SIP over WebSocket (RFC 7118): sip/README.md
	var srv *http.Server
	serveErr := make(chan error, 1)
	httpsAddr := ""
	if c.Listen.HTTPS != "" {
		ln, err := net.Listen("tcp", c.Listen.HTTPS)
		if err != nil {
			return fmt.Errorf("https listener: %w", err)
		}
		httpsAddr = ln.Addr().String()
		srv = &http.Server{
			Handler:           withSIPWebSocket,
			TLSConfig:         tlsConfig,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          nil,
		}
		go func() { serveErr <- srv.Serve(tls.NewListener(ln, tlsConfig)) }()
	}
	log.Info().Strs("domains", c.Domains).Str("https", httpsAddr).
		Dur("startup", time.Since(start)).Msg("ready")

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("https: %w", err)
		}
	}
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	if srv != nil {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("https shutdown: %w", err))
		}
	}
	if err := sipSrv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("sip shutdown: %w", err))
	}
	if err := hub.Close(sctx); err != nil {
		errs = append(errs, fmt.Errorf("hub shutdown: %w", err))
	}
	errs = append(errs, stopXMPP(sctx))
	log.Info().Dur("took", time.Since(start)).Msg("stopped")
	return errors.Join(errs...)
}
