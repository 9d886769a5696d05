package sip

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// wsListener hands connections taken over from the HTTPS server to sipgo's
// WebSocket transport (RFC 7118), which performs the upgrade on them.
type wsListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newWSListener() *wsListener {
	return &wsListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept returns the next handed-over connection.
func (l *wsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept.
func (l *wsListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is a placeholder: the connections come from the HTTPS listener.
func (l *wsListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4zero} }

// replayConn replays the upgrade request the HTTP server already read, so
// that sipgo's upgrader sees it, then reads the connection.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// WebSocket returns next with SIP over WebSocket (RFC 7118) added: an
// upgrade request that offers the "sip" subprotocol is taken over and
// served as a SIP connection (the HTTPS server has terminated TLS, so
// this is SIP over secure WebSocket for the client); every other request
// goes to next. Without Config.WebSocket it returns next unchanged.
func (s *Server) WebSocket(next http.Handler) http.Handler {
	if s == nil || s.ws == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isSIPUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "websocket upgrade not possible here", http.StatusInternalServerError)
			return
		}
		conn, rw, err := hj.Hijack()
		if err != nil {
			s.log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("websocket hijack failed")
			return
		}
		var head bytes.Buffer
		head.WriteString(r.Method + " " + r.URL.RequestURI() + " HTTP/1.1\r\nHost: " + r.Host + "\r\n")
		for k, vs := range r.Header {
			for _, v := range vs {
				head.WriteString(k + ": " + v + "\r\n")
			}
		}
		head.WriteString("\r\n")
		buffered, _ := rw.Reader.Peek(rw.Reader.Buffered())
		c := &replayConn{Conn: conn, r: io.MultiReader(&head, bytes.NewReader(append([]byte(nil), buffered...)), conn)}
		select {
		case s.ws.conns <- c:
		case <-s.ws.done:
			conn.Close()
		case <-time.After(5 * time.Second):
			conn.Close()
		}
	})
}

func isSIPUpgrade(r *http.Request) bool {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "sip") {
				return true
			}
		}
	}
	return false
}
