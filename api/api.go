// Package api is Crosstalk's HTTP side: for now the operator endpoints,
// /healthz (whether the node can serve), /metrics (Prometheus text) and
// /debug/pprof/ (Go's profiler).
// OAuth2, REST v1, the event stream, XCAP and the XMPP/SIP WebSocket mounts
// come with their issues.
//
// The operator endpoints answer only clients whose address is inside the
// configured allow list (loopback by default) and 403 to everyone else, so
// nothing here is open to the network unauthenticated.
package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Pinger reports whether a dependency (the store) can serve.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config configures the HTTP side.
type Config struct {
	// OperatorAllow lists the networks allowed to read /healthz and
	// /metrics; empty means loopback only.
	OperatorAllow []netip.Prefix
}

// Handler serves the HTTP side.
type Handler struct {
	mux   *http.ServeMux
	allow []netip.Prefix
	log   zerolog.Logger
}

// New returns the HTTP handler. reg is the registry /metrics exposes; store
// is pinged by /healthz.
func New(cfg Config, store Pinger, reg *prometheus.Registry, log zerolog.Logger) *Handler {
	h := &Handler{mux: http.NewServeMux(), allow: cfg.OperatorAllow, log: log.With().Str("component", "api").Logger()}
	if len(h.allow) == 0 {
		h.allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	h.mux.Handle("GET /healthz", h.operator(healthz(store)))
	h.mux.Handle("GET /metrics", h.operator(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	// Go's profiler (net/http/pprof), for operators only, like /metrics.
	h.mux.Handle("GET /debug/pprof/", h.operator(http.HandlerFunc(pprof.Index)))
	h.mux.Handle("GET /debug/pprof/cmdline", h.operator(http.HandlerFunc(pprof.Cmdline)))
	h.mux.Handle("GET /debug/pprof/profile", h.operator(http.HandlerFunc(pprof.Profile)))
	h.mux.Handle("GET /debug/pprof/symbol", h.operator(http.HandlerFunc(pprof.Symbol)))
	h.mux.Handle("GET /debug/pprof/trace", h.operator(http.HandlerFunc(pprof.Trace)))
	return h
}

// Handle mounts another handler (XCAP, WebSocket, …) on the HTTP side.
func (h *Handler) Handle(pattern string, handler http.Handler) { h.mux.Handle(pattern, handler) }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// operator lets only allowed client addresses through.
func (h *Handler) operator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || !h.allowed(ip.Unmap()) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) allowed(ip netip.Addr) bool {
	for _, p := range h.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func healthz(store Pinger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, body := http.StatusOK, map[string]string{"status": "ok"}
		if err := store.Ping(ctx); err != nil {
			status, body = http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "store": fmt.Sprint(err)}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	})
}
