package xmpp

import (
	"bytes"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Stream namespaces (RFC 6120 §4.8).
const (
	nsStream  = "http://etherx.jabber.org/streams"
	nsClient  = "jabber:client"
	nsStreams = "urn:ietf:params:xml:ns:xmpp-streams"
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
)

// errStreamClosed reports that the client closed its stream.
var errStreamClosed = errors.New("stream closed by the client")

// recorder hands bytes to the XML decoder one at a time and keeps a copy of
// those consumed since the last reset, so that a stanza's exact bytes are
// known once the decoder has read it. encoding/xml reads through ReadByte
// when the reader has it and pushes back at most one byte internally, so
// the copy is exact at token boundaries.
type recorder struct {
	r   *connReader
	buf []byte
}

// ReadByte reads one byte and records it.
func (r *recorder) ReadByte() (byte, error) {
	b, err := r.r.ReadByte()
	if err == nil {
		r.buf = append(r.buf, b)
	}
	return b, err
}

// Read reads and records bytes.
func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

func (r *recorder) reset() { r.buf = r.buf[:0] }

// keptRecord is the largest record buffer an idle connection keeps; a
// bigger one (left by a big stanza) is dropped when the reader waits.
const keptRecord = 1024

// readBufSize is the size of the pooled read buffers.
const readBufSize = 4096

// connReader is the buffered reader under the XML decoder. Its buffer
// comes from a pool shared by all connections and goes back to it when it
// has been read out and the reader waits for the client (wait), so an idle
// connection holds no read buffer: wait blocks on a few bytes of its own,
// and the pooled buffer is taken again once they arrive.
type connReader struct {
	src  io.Reader
	pool *sync.Pool
	buf  []byte // nil while idle
	r, w int
	err  error
	// more is set when the last read from src filled the buffer it was
	// given: src may hold more bytes (crypto/tls keeps a record's
	// plaintext that did not fit).
	more bool
	// rc is the record reader under crypto/tls, when src reads from one:
	// an idle wait then waits for the socket, not inside crypto/tls.
	rc *recordConn
	// probe receives the first bytes after an idle wait.
	probe [64]byte
}

func (c *connReader) take() {
	if c.buf != nil {
		return
	}
	if b, ok := c.pool.Get().(*[]byte); ok {
		c.buf = *b
	} else {
		c.buf = make([]byte, readBufSize)
	}
	c.r, c.w = 0, 0
}

// release gives the buffer back when everything in it was read.
func (c *connReader) release() {
	if c.buf == nil || c.r < c.w {
		return
	}
	b := c.buf
	c.buf, c.r, c.w = nil, 0, 0
	c.pool.Put(&b)
}

func (c *connReader) fill() error {
	if c.err != nil {
		err := c.err
		c.err = nil
		return err
	}
	c.take()
	c.r, c.w = 0, 0
	for range 100 {
		n, err := c.src.Read(c.buf)
		c.w = n
		c.more = n == len(c.buf)
		if n > 0 {
			c.err = err
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// ReadByte returns the next byte.
func (c *connReader) ReadByte() (byte, error) {
	if c.buf == nil || c.r == c.w {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	b := c.buf[c.r]
	c.r++
	return b, nil
}

// Read reads buffered bytes, filling the buffer when it is empty.
func (c *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.buf == nil || c.r == c.w {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.buf[c.r:c.w])
	c.r += n
	return n, nil
}

// buffered reports whether the next read returns without waiting for
// the network: bytes or an error are pending.
func (c *connReader) buffered() bool {
	return c.err != nil || (c.buf != nil && c.r < c.w)
}

// wait blocks until the client sends something other than white space
// between elements (which it drops: RFC 6120 §11.7 allows it there, as a
// keepalive), holding no pooled buffer while it waits. A read error is
// kept for the next read.
func (c *connReader) wait() {
	for range 100 {
		for c.buf != nil && c.r < c.w && isSpace(c.buf[c.r]) {
			c.r++
		}
		if c.buffered() {
			return
		}
		c.release()
		if !c.more && c.rc != nil {
			// Nothing is left inside crypto/tls: wait for the socket on
			// this goroutine's small stack; the read below then finds
			// the record that came (or the error).
			c.rc.waitReadable()
		}
		c.probeOnce()
	}
	if !c.buffered() {
		c.err = io.ErrNoProgress
	}
}

// probeOnce reads once into the small probe buffer, moves what came into
// a pooled read buffer, notes whether the probe was filled (more may be
// waiting) and keeps the error for the reader.
func (c *connReader) probeOnce() {
	n, err := c.src.Read(c.probe[:])
	c.more = n == len(c.probe)
	if n > 0 {
		c.take()
		c.w = copy(c.buf, c.probe[:n])
	}
	if err != nil {
		c.err = err
	}
}

// watchable returns the record reader under crypto/tls when the
// connection can wait for its client without a goroutine: nothing is
// buffered here, read ahead or left in crypto/tls, and a poller is there.
// The (empty) read buffer then goes back to the pool.
func (c *connReader) watchable() *recordConn {
	if c.rc == nil || c.rc.poller == nil || c.more || c.buffered() || !c.rc.drained() {
		return nil
	}
	c.release()
	return c.rc
}

// readProbe reads once after a watch fired (bytes, an error or a deadline
// are there, so it does not wait beyond the rest of a record), dropping
// white space between elements; the reader then finds what came in the
// buffer, or goes back to waiting when it was only white space.
func (c *connReader) readProbe() {
	c.release()
	c.probeOnce()
	for c.buf != nil && c.r < c.w && isSpace(c.buf[c.r]) {
		c.r++
	}
	c.release()
}

// transport is the byte and token side of one connection: the net.Conn
// (plain or TLS), the stanza byte budget, the recorder, the decoder and the
// xmlguard limits above it. Only the connection's reader goroutine uses it,
// except for write, which the negotiation and then the writer goroutine use
// one after the other.
type transport struct {
	conn   net.Conn
	lim    xmlguard.Limits
	budget *xmlguard.Budget
	rec    *recorder
	guard  *xmlguard.Reader
	// wtimeout bounds one write.
	wtimeout time.Duration
	// log receives wire traces at trace level, SASL payloads redacted.
	log zerolog.Logger
	// bufs is the pool of read buffers.
	bufs *sync.Pool
	// header holds the bytes of the client's current stream header, from
	// which unpark rebuilds the decoder that park dropped.
	header []byte
	// held, while not nil, keeps what write is given until the record
	// reader must read the socket (holdWrites); a pointer, so that a
	// session that is no longer negotiating carries one word for it.
	held *[]byte
}

// trace logs bytes on the wire at trace level; SASL elements and
// component handshakes carry credentials or proofs and are logged without
// their content.
func (t *transport) trace(dir string, b []byte) {
	ev := t.log.Trace()
	if !ev.Enabled() {
		return
	}
	if bytes.Contains(b, []byte(nsSASL)) || bytes.Contains(b, []byte(nsSASL2)) {
		b = []byte("<!-- SASL element redacted -->")
	} else if bytes.HasPrefix(b, []byte("<handshake")) && len(b) > len("<handshake/>") {
		b = []byte("<!-- XEP-0114 handshake redacted -->") // a verifier of the component's secret
	}
	ev.Str("dir", dir).Bytes("xml", b).Msg("wire")
}

func newTransport(conn net.Conn, lim xmlguard.Limits, wtimeout time.Duration, bufs *sync.Pool) *transport {
	t := &transport{lim: lim, wtimeout: wtimeout, bufs: bufs}
	t.reset(conn)
	return t
}

// reset puts the reading stack on a new connection (after the TLS
// handshake); nothing read before survives.
func (t *transport) reset(conn net.Conn) {
	t.conn = conn
	t.budget = xmlguard.NewBudget(conn, t.lim.MaxBytes)
	if t.rec != nil {
		t.rec.r.release()
	}
	cr := &connReader{src: t.budget, pool: t.bufs}
	if tc, ok := conn.(*tls.Conn); ok {
		cr.rc, _ = tc.NetConn().(*recordConn)
	}
	t.rec = &recorder{r: cr}
	t.restart()
}

// restart starts a fresh decoder over the same bytes (stream restart after
// SASL, RFC 6120 §6.4.6); bytes the client already sent are kept.
func (t *transport) restart() {
	dec := xml.NewDecoder(t.rec)
	t.guard = xmlguard.NewReader(dec, t.lim, t.budget, 1)
	t.budget.Reset()
	t.rec.reset()
}

// readHeader reads the client's stream header.
func (t *transport) readHeader() (xml.StartElement, error) {
	for range 16 {
		tok, err := t.guard.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			t.header = append(t.header[:0], t.rec.buf...)
			t.rec.reset()
			if tok.Name.Space != nsStream || tok.Name.Local != "stream" {
				return tok, newStreamError(condInvalidNamespace, "not a stream header")
			}
			t.budget.Reset()
			return tok, nil
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) > 0 {
				return xml.StartElement{}, newStreamError(condNotWellFormed, "text before the stream header")
			}
		case xml.ProcInst:
		default:
			return xml.StartElement{}, newStreamError(condNotWellFormed, "unexpected token before the stream header")
		}
	}
	return xml.StartElement{}, newStreamError(condNotWellFormed, "no stream header")
}

// element is one top-level element read from the stream: its start tag,
// its exact bytes and, within them, the bytes between its start and end
// tags (nil for an empty element), so that a stanza need not be parsed a
// second time.
type element struct {
	start xml.StartElement
	raw   []byte
	inner []byte
	// texts are the children's own character data (xmppmap.ChildText).
	texts []xmppmap.ChildText
	// children is the child element of an IQ (jabber:client) that has
	// exactly one, as the decoder found it (xmppmap.Stanza.SetChildren):
	// the IQ handlers need no second parse. Nil otherwise.
	children []xmppmap.Element
}

// wait blocks until the client sends more, holding no read buffer while
// it waits (see connReader). Call it between elements.
func (t *transport) wait() {
	t.rec.r.wait()
}

// trimRecord drops a record buffer a big element left, between elements;
// only the reader's goroutine may call it (a waiter may be in wait).
func (t *transport) trimRecord() {
	if cap(t.rec.buf) > keptRecord {
		t.rec.buf = nil
	}
}

// park drops the decoder and its limits reader, about 2 KB that an idle
// session does not need, and the recorder's buffer; next rebuilds them
// (unpark). Call it only between
// top-level elements, and only from the goroutine that owns the decoder
// (a waiter may be blocked in wait meanwhile: park does not touch the
// buffered reader). encoding/xml stops exactly at a top-level element's
// closing '>', so the dropped decoder held no bytes of the stream.
func (t *transport) park() {
	if len(t.header) > 0 {
		t.guard = nil
	}
	t.rec.buf = nil // empty between elements; the next one makes its own
}

// unpark rebuilds a parked decoder: a fresh one reads the client's stream
// header again (so that the stream's end tag matches and the header's
// namespace declarations apply, as in the dropped decoder), from a
// copy that the recorder and the byte budget do not see, then goes on
// with the connection's bytes.
func (t *transport) unpark() error {
	dec := xml.NewDecoder(&replayReader{hdr: t.header, rec: t.rec})
	t.guard = xmlguard.NewReader(dec, t.lim, t.budget, 1)
	for range 16 {
		tok, err := t.guard.Token()
		if err != nil {
			return fmt.Errorf("replay of the stream header: %w", err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			return nil
		}
	}
	return errors.New("replay of the stream header: no start tag")
}

// replayReader serves hdr, then the recorder's bytes.
type replayReader struct {
	hdr []byte
	rec *recorder
}

// ReadByte reads the next byte of the header, then of the connection.
func (r *replayReader) ReadByte() (byte, error) {
	if len(r.hdr) > 0 {
		b := r.hdr[0]
		r.hdr = r.hdr[1:]
		return b, nil
	}
	return r.rec.ReadByte()
}

// Read reads the rest of the header, then from the connection.
func (r *replayReader) Read(p []byte) (int, error) {
	if len(r.hdr) > 0 {
		n := copy(p, r.hdr)
		r.hdr = r.hdr[n:]
		return n, nil
	}
	return r.rec.Read(p)
}

// buffered reports whether next can start without waiting for the
// network.
func (t *transport) buffered() bool { return t.rec.r.buffered() }

// next reads the next top-level element (a stanza or a negotiation
// element), skipping white space between them. It returns errStreamClosed
// when the client ends its stream.
func (t *transport) next() (element, error) {
	var el element
	if t.guard == nil {
		if err := t.unpark(); err != nil {
			return el, err
		}
	}
	depth := 0
	startEnd := 0   // bytes recorded up to the end of the start tag
	var text []byte // the current child's own character data
	// An IQ's first child: its start tag and where its start and end
	// tags end in the recorded bytes; kids counts the IQ's children.
	iq, kids := false, 0
	var kid xml.StartElement
	kidStart, kidEnd := 0, 0
	for {
		tok, err := t.guard.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return el, io.ErrUnexpectedEOF
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) && se.Msg == "unexpected EOF" {
				return el, io.ErrUnexpectedEOF // the connection ended inside the stream
			}
			if errors.As(err, &se) {
				return el, fmt.Errorf("%w: %v", newStreamError(condNotWellFormed, se.Msg), err)
			}
			return el, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				el.start = tok.Copy()
				startEnd = len(t.rec.buf)
				iq = tok.Name.Local == "iq" && tok.Name.Space == nsClient
			} else if depth == 1 {
				el.texts = append(el.texts, xmppmap.ChildText{Name: tok.Name})
				text = text[:0]
				if iq {
					if kids == 0 {
						kid, kidStart = tok.Copy(), len(t.rec.buf)
					}
					kids++
				}
			}
			depth++
		case xml.EndElement:
			if depth == 0 {
				return el, errStreamClosed
			}
			depth--
			if depth == 1 && len(text) > 0 {
				el.texts[len(el.texts)-1].Text = string(text)
			}
			if depth == 1 && kids == 1 {
				kidEnd = len(t.rec.buf)
			}
			if depth == 0 {
				raw := t.rec.buf
				if i := bytes.IndexByte(raw, '<'); i > 0 {
					raw = raw[i:]
					startEnd -= i
					kidStart -= i
					kidEnd -= i
				}
				el.raw = bytes.Clone(raw)
				// The decoder reads a start tag up to its '>' and no
				// further; an empty element (<a/>) ends with nothing more
				// read. Otherwise the end tag is the last "</".
				el.inner = innerOf(el.raw, startEnd, len(el.raw))
				if kids == 1 {
					el.children = []xmppmap.Element{{XMLName: kid.Name, Attrs: kid.Attr, Inner: innerOf(el.raw, kidStart, kidEnd)}}
				}
				t.rec.reset()
				t.trace("in", el.raw)
				return el, nil
			}
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return el, newStreamError(condBadFormat, "text between stanzas")
			}
			if depth == 2 {
				text = append(text, tok...)
			}
		}
	}
}

// innerOf returns the bytes between the start and end tags of the
// element of raw whose start tag ends at start and whose end tag ends at
// end (nil when it is empty: <a/> ends where its start tag does).
func innerOf(raw []byte, start, end int) []byte {
	if start >= end {
		return nil
	}
	if j := bytes.LastIndex(raw[:end], []byte("</")); j >= start {
		return raw[start:j:j]
	}
	return nil
}

// write sends bytes with the write deadline, or keeps them while writes
// are held (holdWrites).
func (t *transport) write(b []byte) error {
	t.trace("out", b)
	if t.held != nil {
		*t.held = append(*t.held, b...)
		return nil
	}
	return t.send(b)
}

// send writes b with the write deadline.
func (t *transport) send(b []byte) error {
	if err := t.conn.SetWriteDeadline(time.Now().Add(t.wtimeout)); err != nil {
		return err
	}
	_, err := t.conn.Write(b)
	return err
}

// holdWrites makes write keep what it is given until the client's next
// bytes must be read from the socket, or until endHold: the answers to
// elements a client sent together (a stream header and the
// <authenticate/> behind it, from a client that remembers the server)
// leave in one write, while an answer never waits for the client, as
// nothing is held while the server waits to read. Only over TLS, where
// the record reader (recordConn) sees every read of the socket; only
// while the negotiation alone uses the transport (endHold before
// anything else writes on it).
func (t *transport) holdWrites() {
	rc := t.rec.r.rc
	if rc == nil || t.held != nil {
		return
	}
	t.held = new([]byte)
	rc.beforeRead = t.sendHeld
}

// endHold sends what is held and makes writes go out at once again.
func (t *transport) endHold() error {
	if t.held == nil {
		return nil
	}
	if rc := t.rec.r.rc; rc != nil {
		rc.beforeRead = nil
	}
	err := t.sendHeld()
	t.held = nil
	return err
}

// sendHeld writes what write kept, in one write.
func (t *transport) sendHeld() error {
	if t.held == nil || len(*t.held) == 0 {
		return nil
	}
	b := *t.held
	*t.held = nil
	return t.send(b)
}

// streamHeader is the server's stream header (RFC 6120 §4.7).
func streamHeader(id, domain string) []byte {
	return []byte("<?xml version='1.0'?><stream:stream xmlns='" + nsClient + "' xmlns:stream='" + nsStream +
		"' id='" + id + "' from='" + domain + "' version='1.0' xml:lang='en'>")
}

// streamErrorXML renders a stream error and the stream close.
func streamErrorXML(cond string) []byte {
	return []byte("<stream:error><" + cond + " xmlns='" + nsStreams + "'/></stream:error></stream:stream>")
}
