package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // SCRAM-SHA-1 is a fallback the servers under test may offer
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"slices"
	"time"
)

// Prepared client output of the raw login (the stream header is built per
// login: it names the account's domain).
const (
	starttlsReq = `<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`
	bindReq     = `<iq type='set' id='ctbind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`
	rosterReq   = `<iq type='get' id='ctroster'><query xmlns='jabber:iq:roster'/></iq>`
	presenceOut = `<presence/>`
	streamEnd   = `</stream:stream>`
)

// errLoginStream is the server ending the stream during a login.
var errLoginStream = errors.New("server ended the stream")

// rawSession is a session logged in by rawLogin: the TCP connection, the
// TLS connection over it and the reader of the server's stream.
type rawSession struct {
	conn net.Conn
	// w is where the client writes: conn, then the TLS connection.
	w  io.Writer
	rd *elemReader
	// jid is the full JID the server bound.
	jid []byte
}

// rawLogin is xmpp-login's client login without mellium: the same
// exchange as login (TCP, stream, STARTTLS with a full, verified TLS
// handshake — or TLS at once with -direct-tls, a resumed handshake with
// -tls-resume — stream restart, SCRAM-SHA-256 else SHA-1 with the cached
// SaltedPassword and the server signature checked, stream restart, bind,
// roster get and initial presence), written as prepared bytes and read a
// top-level element at a time by elemReader, in the calling goroutine.
func (x *xmppClient) rawLogin(ctx context.Context, i int) (*rawSession, error) {
	var s *rawSession
	err := x.dialRaw(ctx, i, func(conn net.Conn, hc *heldConn) error {
		s = &rawSession{conn: hc, w: hc, rd: newElemReader(hc)}
		if err := s.negotiate(ctx, x, x.cfg.account(i)); err != nil {
			conn.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// dialRaw connects to -xmpp from the i-th source address and runs op on
// the connection and its heldConn, both bounded by ctx: its deadline is
// the connection's, and its end fails what op is waiting for. op's error
// names ctx's when ctx has ended.
func (x *xmppClient) dialRaw(ctx context.Context, i int, op func(conn net.Conn, hc *heldConn) error) error {
	conn, err := newDialer(x.cfg.source(i), x.cfg.Timeout).DialContext(ctx, "tcp", x.cfg.xmpp.String())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := op(conn, &heldConn{Conn: conn}); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return err
	}
	return nil
}

// negotiate runs the login on s.
func (s *rawSession) negotiate(ctx context.Context, x *xmppClient, acct account) error {
	header := streamHeader(acct.Domain)
	if _, err := s.secure(ctx, x, header); err != nil {
		return err
	}
	if x.cfg.SASL2 {
		if err := s.auth2(x, acct, header); err != nil {
			return fmt.Errorf("sasl2: %w", err)
		}
		return s.rosterAndPresence()
	}
	if err := s.restart(header); err != nil {
		return err
	}
	if err := s.auth(x.salted, acct); err != nil {
		return fmt.Errorf("sasl: %w", err)
	}
	if err := s.restart(header); err != nil {
		return err
	}
	if s.rd.child(nsBind, "bind") < 0 {
		return errors.New("bind: the server does not offer resource binding")
	}
	if err := s.write(bindReq); err != nil {
		return err
	}
	if err := s.result("ctbind"); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if b := s.rd.child(nsBind, "bind"); b >= 0 {
		s.rd.children(b, func(n *xmlNode) {
			if n.is(nsBind, "jid") {
				s.jid = append(s.jid[:0], n.text...)
			}
		})
	}
	if len(s.jid) == 0 {
		return errors.New("bind: no JID in the result")
	}
	return s.rosterAndPresence()
}

// secure is a login's first part: STARTTLS (unless -direct-tls) and the
// TLS handshake. s reads and writes over TLS after it.
func (s *rawSession) secure(ctx context.Context, x *xmppClient, header string) (*tls.Conn, error) {
	if !x.cfg.DirectTLS {
		if err := s.restart(header); err != nil {
			return nil, err
		}
		if s.rd.child(nsTLS, "starttls") < 0 {
			return nil, errors.New("starttls: the server does not offer STARTTLS")
		}
		if err := s.write(starttlsReq); err != nil {
			return nil, err
		}
		if err := s.read(); err != nil {
			return nil, fmt.Errorf("starttls: %w", err)
		}
		if !s.rd.top().is(nsTLS, "proceed") {
			return nil, fmt.Errorf("starttls: the server answered <%s/>", s.rd.top().local)
		}
	}
	tc := tls.Client(s.conn, x.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	if tc.ConnectionState().DidResume {
		x.resumed.Add(1)
	}
	s.w = tc
	s.rd.reset(tc)
	return tc, nil
}

// rawTLS is xmpp-tls's operation: rawLogin up to the end of the TLS
// handshake (TCP, STARTTLS unless -direct-tls, the handshake with the
// server's certificate checked), then a TLS close_notify and the TCP
// close. It is the part of a login every XMPP server does the same way.
func (x *xmppClient) rawTLS(ctx context.Context, i int) error {
	return x.dialRaw(ctx, i, func(conn net.Conn, hc *heldConn) error {
		defer conn.Close()
		s := &rawSession{conn: hc, w: hc, rd: newElemReader(hc)}
		tc, err := s.secure(ctx, x, streamHeader(x.cfg.account(i).Domain))
		if err != nil {
			return err
		}
		// The client's Finished is still held: Close sends it with the
		// close_notify behind it, in one write (heldConn.Close).
		if err := tc.Close(); err != nil {
			return fmt.Errorf("tls close: %w", err)
		}
		return nil
	})
}

// rosterAndPresence ends a login once bound: roster get, initial presence.
func (s *rawSession) rosterAndPresence() error {
	if err := s.write(rosterReq); err != nil {
		return err
	}
	if err := s.result("ctroster"); err != nil {
		return fmt.Errorf("roster get: %w", err)
	}
	if err := s.write(presenceOut); err != nil {
		return fmt.Errorf("initial presence: %w", err)
	}
	return nil
}

// streamHeader is the client's stream header to domain.
func streamHeader(domain string) string {
	var b bytes.Buffer
	b.WriteString(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en' to='`)
	b.Write(escapeAttr(domain))
	b.WriteString(`'>`)
	return b.String()
}

// escapeAttr escapes a value for a single-quoted attribute.
func escapeAttr(v string) []byte {
	var out []byte
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '<':
			out = append(out, "&lt;"...)
		case '&':
			out = append(out, "&amp;"...)
		case '\'':
			out = append(out, "&apos;"...)
		case '"':
			out = append(out, "&quot;"...)
		default:
			out = append(out, c)
		}
	}
	return out
}

// write sends bytes on the current connection.
func (s *rawSession) write(b string) error {
	if _, err := io.WriteString(s.w, b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// restart sends a stream header and reads the server's header and
// stream features.
func (s *rawSession) restart(header string) error {
	if err := s.write(header); err != nil {
		return err
	}
	return s.features()
}

// features reads the server's stream header and stream features.
func (s *rawSession) features() error {
	kind, err := s.rd.next()
	switch {
	case err != nil:
		return fmt.Errorf("stream header: %w", err)
	case kind == elemEnd:
		return fmt.Errorf("stream header: %w", errLoginStream)
	case kind == elemWhole:
		if err := s.streamError(); err != nil {
			return err
		}
		return fmt.Errorf("stream header: got <%s/>", s.rd.top().local)
	}
	if err := s.read(); err != nil {
		return fmt.Errorf("stream features: %w", err)
	}
	if !s.rd.top().is(nsStreams, "features") {
		return fmt.Errorf("stream features: got <%s/>", s.rd.top().local)
	}
	return nil
}

// read reads the next top-level element; a stream error, the end of the
// stream or another stream header is an error.
func (s *rawSession) read() error {
	kind, err := s.rd.next()
	switch {
	case err != nil:
		return err
	case kind == elemEnd:
		return errLoginStream
	case kind == elemHeader:
		return errors.New("unexpected stream header")
	}
	return s.streamError()
}

// streamError returns the stream error the last element read is, if any.
func (s *rawSession) streamError() error {
	if s.rd.top().is(nsStreams, "error") {
		return fmt.Errorf("%w: %s", errStreamError, s.rd.condition(0, nsStreamErr))
	}
	return nil
}

// result reads until the IQ response with the given id; an error type is
// an error. Other stanzas are skipped.
func (s *rawSession) result(id string) error {
	for {
		if err := s.read(); err != nil {
			return err
		}
		top := s.rd.top()
		if !top.is(nsClient, "iq") {
			continue
		}
		got, err := top.attr("id")
		if err != nil {
			return err
		}
		if string(got) != id {
			continue
		}
		typ, err := top.attr("type")
		if err != nil {
			return err
		}
		switch string(typ) {
		case "result":
			return nil
		case "error":
			cond := "no error element"
			if e := s.rd.child(nsClient, "error"); e >= 0 {
				cond = s.rd.condition(e, "urn:ietf:params:xml:ns:xmpp-stanzas")
			}
			return fmt.Errorf("error response: %s", cond)
		default:
			return fmt.Errorf("response of type %q", typ)
		}
	}
}

// auth runs SCRAM (SHA-256 if offered, else SHA-1) over the features just
// read.
func (s *rawSession) auth(c *saltedCache, acct account) error {
	mechs, offered := s.mechanisms(nsSASL, "mechanisms")
	if mechs < 0 {
		return errors.New("the server offers no SASL mechanisms")
	}
	name, fn, err := pickSCRAM(offered)
	if err != nil {
		return err
	}
	nonce, bare, first := scramFirst(acct)
	if err := s.write(saslElem("auth", name, first)); err != nil {
		return err
	}
	challenge, err := s.saslStep("challenge")
	if err != nil {
		return err
	}
	final, serverSig, err := c.scramFinal(name, fn, []byte(acct.Password), nonce, bare, challenge)
	if err != nil {
		return err
	}
	if err := s.write(saslElem("response", "", final)); err != nil {
		return err
	}
	// The server-final-message comes as additional data with <success/>
	// (RFC 6120 §6.3.10), or in a last challenge answered with an empty
	// response.
	data, err := s.saslStep("success", "challenge")
	if err != nil {
		return err
	}
	if s.rd.top().is(nsSASL, "challenge") {
		if err := s.write(saslElem("response", "", nil)); err != nil {
			return err
		}
		extra, err := s.saslStep("success")
		if err != nil {
			return err
		}
		if len(extra) > 0 {
			return errors.New("additional data both in a challenge and with success")
		}
	}
	want := "v=" + base64.StdEncoding.EncodeToString(serverSig)
	if subtle.ConstantTimeCompare([]byte(want), data) != 1 {
		if len(data) == 0 {
			return errors.New("no server signature")
		}
		return errors.New("wrong server signature")
	}
	return nil
}

// mechanisms returns the index of the stream feature {ns}local among the
// features just read (-1 if absent) and the <mechanism/> texts it lists.
func (s *rawSession) mechanisms(ns, local string) (int, []string) {
	feat := s.rd.child(ns, local)
	if feat < 0 {
		return feat, nil
	}
	var offered []string
	s.rd.children(feat, func(n *xmlNode) {
		if n.is(ns, "mechanism") {
			offered = append(offered, string(bytes.TrimSpace(n.text)))
		}
	})
	return feat, offered
}

// pickSCRAM chooses SCRAM-SHA-256, else SCRAM-SHA-1, among the offered
// mechanisms.
func pickSCRAM(offered []string) (string, func() hash.Hash, error) {
	for _, name := range []string{"SCRAM-SHA-256", "SCRAM-SHA-1"} {
		if slices.Contains(offered, name) {
			return name, scramHash(name), nil
		}
	}
	return "", nil, fmt.Errorf("no SCRAM-SHA-256 or SCRAM-SHA-1 among %q", offered)
}

// scramHash is the hash of SCRAM-SHA-256 or SCRAM-SHA-1.
func scramHash(name string) func() hash.Hash {
	if name == "SCRAM-SHA-1" {
		return sha1.New
	}
	return sha256.New
}

// scramFirst returns a fresh client nonce, the client-first-message-bare
// and the whole client-first-message (no channel binding) for acct.
func scramFirst(acct account) (nonce, bare, first []byte) {
	var raw [18]byte
	_, _ = rand.Read(raw[:])
	nonce = []byte(base64.StdEncoding.EncodeToString(raw[:]))
	bare = append(append(append([]byte("n="), escapeSaslname([]byte(acct.Local))...), ",r="...), nonce...)
	first = append([]byte("n,,"), bare...)
	return nonce, bare, first
}

// saslElem is a SASL element with the base64 of data as its text ("=" for
// empty data in auth, RFC 6120 §6.4.2).
func saslElem(local, mechanism string, data []byte) string {
	var b bytes.Buffer
	b.WriteString("<" + local + " xmlns='" + nsSASL + "'")
	if mechanism != "" {
		b.WriteString(" mechanism='" + mechanism + "'")
	}
	b.WriteByte('>')
	switch {
	case len(data) > 0:
		b.WriteString(base64.StdEncoding.EncodeToString(data))
	case local == "auth":
		b.WriteByte('=')
	}
	b.WriteString("</" + local + ">")
	return b.String()
}

// saslStep reads the next SASL element, which must be one of want, and
// returns its decoded data; <failure/> is an error with its condition.
func (s *rawSession) saslStep(want ...string) ([]byte, error) {
	if err := s.read(); err != nil {
		return nil, err
	}
	top := s.rd.top()
	if top.is(nsSASL, "failure") {
		return nil, fmt.Errorf("failure: %s", s.rd.condition(0, nsSASL))
	}
	if string(top.ns) != nsSASL || !slices.Contains(want, string(top.local)) {
		return nil, fmt.Errorf("expected <%s/>, got <%s xmlns='%s'/>", want[0], top.local, top.ns)
	}
	text := bytes.TrimSpace(top.text)
	if len(text) == 0 || string(text) == "=" {
		return nil, nil
	}
	data, err := base64.StdEncoding.DecodeString(string(text))
	if err != nil {
		return nil, fmt.Errorf("<%s/> data: %w", top.local, err)
	}
	return data, nil
}

// close ends the stream, reads what the server still sends for up to
// closeWait until its end of stream, and closes the TCP connection.
func (s *rawSession) close() {
	_ = s.conn.SetDeadline(time.Now().Add(closeWait))
	if s.write(streamEnd) == nil {
		for {
			kind, err := s.rd.next()
			if err != nil || kind == elemEnd {
				break
			}
		}
	}
	_ = s.conn.Close()
}
