package xmpp

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// relWebSocket is the XEP-0156 link relation of an RFC 7395 endpoint.
const relWebSocket = "urn:xmpp:alt-connections:websocket"

// HostMeta returns the XEP-0156 discovery handler for
// /.well-known/host-meta (XRD, RFC 6415) and /.well-known/host-meta.json
// (JRD): both list wss://<host>/xmpp-websocket. It is unauthenticated by
// design, as XEP-0156 requires: clients fetch it before they have any
// credentials, and it reveals nothing but the endpoint. Browsers may read
// it from any origin (XEP-0156 §3.2: Access-Control-Allow-Origin: *).
//
// The host is the request's when it names a served domain, otherwise the
// first configured domain, so that a forged Host header is never echoed
// into the document; a numeric port of the request other than 443 is kept.
func (s *Server) HostMeta() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		href := "wss://" + s.publicHost(r.Host) + WebSocketPath
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cache-Control", "max-age=3600")
		if strings.HasSuffix(r.URL.Path, ".json") {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"links": []map[string]string{{"rel": relWebSocket, "href": href}},
			})
			return
		}
		w.Header().Set("Content-Type", "application/xrd+xml")
		_, _ = w.Write([]byte("<?xml version='1.0' encoding='utf-8'?>\n" +
			"<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n" +
			"  <Link rel='" + relWebSocket + "' href='" + xmppmap.Escape(href) + "'/>\n" +
			"</XRD>\n"))
	})
}

// publicHost returns host (a Host header) when it names a served domain,
// keeping a numeric port, and the first configured domain otherwise.
func (s *Server) publicHost(host string) string {
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = host, ""
	}
	if p, err := strconv.Atoi(port); port != "" && (err != nil || p <= 0 || p > 65535) {
		port = ""
	}
	out := s.cfg.Domains[0]
	for _, d := range s.cfg.Domains {
		if strings.EqualFold(d, name) {
			out = d
		}
	}
	if port != "" && port != "443" {
		return net.JoinHostPort(out, port)
	}
	return out
}
