package main

import (
	"context"
	"crypto/tls"
	"io"
	"sync/atomic"

	mxmpp "mellium.im/xmpp"
)

// rawConn is the TLS connection under a session that xmpp-chat sends and
// receives messages on directly. Its scanner sees every byte the server
// sends from the TLS handshake on (so it knows the stream's depth) and
// reports top-level messages; once taken over, reads no longer reach
// mellium's decoder (whose per-stanza decode cost more than the server
// under test): Read scans them and returns only at the end of the stream
// or an error.
type rawConn struct {
	*tls.Conn
	scan  stanzaScanner
	owned atomic.Bool
	buf   []byte
	// fail is called once with a stream error or unreadable markup.
	fail func(error)
}

// Read passes bytes to the session until takeover, then keeps them.
func (c *rawConn) Read(p []byte) (int, error) {
	if !c.owned.Load() {
		n, err := c.Conn.Read(p)
		if n > 0 {
			if serr := c.scan.feed(p[:n]); serr != nil && c.fail != nil {
				c.fail(serr)
			}
		}
		return n, err
	}
	if c.buf == nil {
		c.buf = make([]byte, 32<<10)
	}
	for {
		n, err := c.Conn.Read(c.buf)
		if n > 0 {
			if serr := c.scan.feed(c.buf[:n]); serr != nil {
				if c.fail != nil {
					c.fail(serr)
				}
				return 0, serr
			}
		}
		if err != nil {
			return 0, err
		}
		if c.scan.ended {
			return 0, io.EOF
		}
	}
}

// takeOver makes later reads go to the scanner only.
func (c *rawConn) takeOver() { c.owned.Store(true) }

// rawStartTLS is mellium's STARTTLS feature with the TLS connection
// wrapped in a rawConn, stored in *out.
func rawStartTLS(cfg *tls.Config, out **rawConn, message func(id, typ []byte), fail func(error)) mxmpp.StreamFeature {
	f := mxmpp.StartTLS(cfg)
	negotiate := f.Negotiate
	f.Negotiate = func(ctx context.Context, s *mxmpp.Session, data any) (mxmpp.SessionState, io.ReadWriter, error) {
		mask, rw, err := negotiate(ctx, s, data)
		if tc, ok := rw.(*tls.Conn); ok && err == nil {
			rc := &rawConn{Conn: tc, fail: fail}
			rc.scan.message = message
			*out = rc
			return mask, rc, nil
		}
		return mask, rw, err
	}
	return f
}
