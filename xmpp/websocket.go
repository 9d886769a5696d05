package xmpp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// WebSocketPath is where XMPP over WebSocket (RFC 7395) is served on the
// HTTPS listener, and what host-meta advertises.
const WebSocketPath = "/xmpp-websocket"

// WebSocket returns the handler of XMPP over WebSocket (RFC 7395): an
// upgrade request offering the "xmpp" subprotocol becomes a c2s stream
// with the same negotiation, limits and session as a TCP connection; the
// HTTPS server has terminated TLS, so the stream counts as secure and
// offers no STARTTLS. Requests without the subprotocol are refused. ctx
// bounds the sessions, as Serve's does.
//
// Any Origin is accepted: authentication is SASL inside the stream, never
// an ambient credential such as a cookie, so a foreign page gains nothing.
func (s *Server) WebSocket(ctx context.Context) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !offersXMPP(r) {
			w.Header().Set("Sec-WebSocket-Protocol", "xmpp")
			http.Error(w, "XMPP over WebSocket needs the xmpp subprotocol (RFC 7395)", http.StatusBadRequest)
			return
		}
		if r.ProtoMajor != 1 {
			http.Error(w, "WebSocket needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
			return
		}
		up := ws.HTTPUpgrader{Timeout: s.cfg.WriteTimeout, Protocol: func(p string) bool { return p == "xmpp" }}
		raw, rw, _, err := up.Upgrade(r, w)
		if err != nil {
			s.log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("websocket upgrade failed")
			return
		}
		conn := newWSConn(raw, rw.Reader, int64(s.cfg.StanzaSize), s.cfg.WriteTimeout)
		// Counted under mu, so that Shutdown's Wait never races this Add.
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		s.active[conn] = true
		s.wg.Add(1)
		s.mu.Unlock()
		// The connection is hijacked: handle may return while the session
		// goes on (session.run), and exit ends it.
		s.handle(ctx, conn, func(_ context.Context, n *negotiation) error {
			n.tlsOn = r.TLS != nil
			if r.TLS != nil {
				st := *r.TLS
				n.tlsState = &st // tls-exporter only: the certificate served is not known here
			}
			n.log = n.log.Hook(logField{"transport", "websocket"}) // no With buffer per session (connFields)
			n.t.log = n.log
			return nil
		}, func() {
			s.untrack(conn)
			s.wg.Done()
		})
	})
}

// offersXMPP reports whether r asks for a WebSocket with the xmpp
// subprotocol.
func offersXMPP(r *http.Request) bool {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if strings.TrimSpace(p) == "xmpp" {
				return true
			}
		}
	}
	return false
}

// wsConn is the framing adapter between a WebSocket and the transport:
// reads return the c2s byte stream that the client's messages stand for
// (inFrame), writes are split into one message per top-level element
// (outFramer). Deadlines and addresses are the underlying connection's.
// The connection's reader goroutine reads; writes may come from the
// writer goroutine and, for pongs, from the reader, hence wmu.
type wsConn struct {
	net.Conn
	br       *bufio.Reader
	maxMsg   int64
	wtimeout time.Duration

	pending []byte // stream bytes of the last message not yet read
	rerr    error  // sticky: the bufio and XML layers above may ask again
	msg     []byte

	wmu    sync.Mutex
	out    outFramer
	closed bool
}

func newWSConn(c net.Conn, br *bufio.Reader, maxMsg int64, wtimeout time.Duration) *wsConn {
	return &wsConn{Conn: c, br: br, maxMsg: maxMsg, wtimeout: wtimeout}
}

// Read returns stream bytes, reading the next message when the last one is
// used up.
func (c *wsConn) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		if c.rerr != nil {
			return 0, c.rerr
		}
		msg, err := c.readMessage()
		if err == nil {
			c.pending, err = inFrame(msg)
		}
		if err != nil {
			c.rerr = err
			return 0, err
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	if len(c.pending) == 0 && cap(c.msg) > keptMessageBuffer {
		c.msg, c.pending = nil, nil // an idle session keeps no large buffer
	}
	return n, nil
}

// keptMessageBuffer is the largest message buffer kept between messages.
const keptMessageBuffer = 8 << 10

// errMessageTooLarge is a WebSocket message over the stanza size.
var errMessageTooLarge = newStreamError(condPolicyViolation, "websocket message over the stanza size")

// readMessage reads one text message, answering pings and closes. A
// message over maxMsg bytes is refused from its frame header, before its
// payload is read.
func (c *wsConn) readMessage() ([]byte, error) {
	c.msg = c.msg[:0]
	inMsg := false
	for {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return nil, fmt.Errorf("websocket frame: %w", err)
		}
		if !h.Masked || h.Rsv != 0 {
			return nil, newStreamError(condBadFormat, "unmasked or extended websocket frame")
		}
		if h.OpCode.IsControl() {
			if err := c.control(h); err != nil {
				return nil, err
			}
			continue
		}
		switch {
		case h.OpCode == ws.OpText && inMsg, h.OpCode == ws.OpContinuation && !inMsg:
			return nil, newStreamError(condBadFormat, "broken websocket fragmentation")
		case h.OpCode != ws.OpText && h.OpCode != ws.OpContinuation:
			return nil, newStreamError(condBadFormat, "websocket messages must be text")
		case h.Length > c.maxMsg-int64(len(c.msg)): // not len+Length: that may overflow
			return nil, errMessageTooLarge
		}
		inMsg = true
		start := len(c.msg)
		c.msg = append(c.msg, make([]byte, h.Length)...)
		if _, err := io.ReadFull(c.br, c.msg[start:]); err != nil {
			return nil, fmt.Errorf("websocket payload: %w", err)
		}
		ws.Cipher(c.msg[start:], h.Mask, 0)
		if h.Fin {
			return c.msg, nil
		}
	}
}

// control handles a ping, pong or close frame.
func (c *wsConn) control(h ws.Header) error {
	if h.Length > 125 || !h.Fin {
		return newStreamError(condBadFormat, "invalid websocket control frame")
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		return fmt.Errorf("websocket control frame: %w", err)
	}
	ws.Cipher(payload, h.Mask, 0)
	switch h.OpCode {
	case ws.OpPing:
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if c.closed {
			return net.ErrClosed
		}
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.wtimeout))
		if err := ws.WriteFrame(c.Conn, ws.NewPongFrame(payload)); err != nil {
			return fmt.Errorf("websocket pong: %w", err)
		}
	case ws.OpClose:
		return io.EOF // the client closed without <close/>: the connection is gone
	}
	return nil
}

// Write sends b as one message per top-level element.
func (c *wsConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	for _, m := range c.out.frames(b) {
		if err := ws.WriteFrame(c.Conn, ws.NewTextFrame(m)); err != nil {
			return 0, fmt.Errorf("websocket write: %w", err)
		}
	}
	return len(b), nil
}

// Close ends the stream with <close/> if the server has not (a client's
// <close/> during negotiation), sends a WebSocket close frame, unless a
// write is stuck, and closes the connection.
func (c *wsConn) Close() error {
	if c.wmu.TryLock() {
		if !c.closed {
			c.closed = true
			_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			if c.out.open {
				_ = ws.WriteFrame(c.Conn, ws.NewTextFrame([]byte(closeMessage)))
			}
			_ = ws.WriteFrame(c.Conn, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
		}
		c.wmu.Unlock()
	}
	if err := c.Conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("websocket close: %w", err)
	}
	return nil
}
