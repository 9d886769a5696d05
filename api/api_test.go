package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func get(h http.Handler, path, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestOperatorEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	h := New(Config{}, pinger{}, reg, zerolog.Nop())
	if w := get(h, "/healthz", "127.0.0.1:5000"); w.Code != 200 || !strings.Contains(w.Body.String(), `"ok"`) {
		t.Fatalf("healthz: %d %s", w.Code, w.Body)
	}
	if w := get(h, "/metrics", "[::1]:5000"); w.Code != 200 || !strings.Contains(w.Body.String(), "go_goroutines") {
		t.Fatalf("metrics: %d", w.Code)
	}
	if w := get(h, "/debug/pprof/", "127.0.0.1:5000"); w.Code != 200 || !strings.Contains(w.Body.String(), "goroutine") {
		t.Fatalf("pprof index: %d", w.Code)
	}
	for _, path := range []string{"/healthz", "/metrics", "/debug/pprof/", "/debug/pprof/profile", "/debug/pprof/cmdline", "/debug/pprof/symbol", "/debug/pprof/trace", "/debug/pprof/heap"} {
		if w := get(h, path, "192.0.2.7:5000"); w.Code != http.StatusForbidden {
			t.Fatalf("%s from outside: %d", path, w.Code)
		}
	}
	if w := get(h, "/nothing", "127.0.0.1:5000"); w.Code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", w.Code)
	}
	down := New(Config{OperatorAllow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, pinger{errors.New("db gone")}, reg, zerolog.Nop())
	if w := get(down, "/healthz", "192.0.2.7:5000"); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "db gone") {
		t.Fatalf("healthz with the store down: %d %s", w.Code, w.Body)
	}
}
