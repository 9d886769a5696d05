package main

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"mellium.im/xmlstream"
	mxmpp "mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"
)

// maxRosterItems bounds how many roster items one login reads.
const maxRosterItems = 100_000

// closeWait bounds how long closing a session waits for the server's end
// of stream.
const closeWait = 2 * time.Second

// xmppClient opens client sessions to the XMPP server under test.
type xmppClient struct {
	cfg *config
	tls *tls.Config
	log zerolog.Logger
	// salted caches SCRAM SaltedPassword per account, as real clients do.
	salted *saltedCache
	// tokens caches each account's XEP-0484 FAST token (xmpp-login -fast).
	tokens *tokenCache
	// resumed counts xmpp-login's resumed TLS handshakes (-tls-resume).
	resumed atomic.Int64
	// quickMech is the SCRAM mechanism of the first SASL2 login that
	// succeeded with -quickstart: later logins pipeline their
	// <authenticate/> (nil until then).
	quickMech atomic.Pointer[string]
	// quickLogins counts the logins that did so.
	quickLogins atomic.Int64
}

func newXMPPClient(cfg *config, log zerolog.Logger) (*xmppClient, error) {
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &xmppClient{cfg: cfg, tls: tc, log: log, salted: newSaltedCache(), tokens: newTokenCache()}, nil
}

// xmppSession is one logged-in client session served by its own goroutine.
type xmppSession struct {
	s    *mxmpp.Session
	conn net.Conn
	// raw is the TLS connection when handlers.direct was set.
	raw    *rawConn
	jid    jid.JID
	served chan error
}

// inbound is called for every message stanza a session receives, with its
// id and type attributes.
type inbound func(id, typ string, at time.Time)

// presenceEvent is a presence stanza a session received.
type presenceEvent struct {
	// From is the sender's bare JID; Type the type attribute ("" for
	// available); Status the <status/> text.
	From, Type, Status string
	At                 time.Time
}

// handlers say what a session does with what it receives; nil fields
// ignore the stanza.
type handlers struct {
	message  inbound
	presence func(presenceEvent)
	// acceptSubscriptions answers every subscription request with
	// "subscribed".
	acceptSubscriptions bool
	// subscribeBack, if set, is asked after a request from a bare JID is
	// accepted; when it returns true, a request goes back to that JID
	// (what a client does to make the subscription mutual).
	subscribeBack func(from string) bool
	// raw, if set, replaces all of the above: it gets every stanza.
	raw mxmpp.Handler
	// direct, if set, gets every top-level message from a byte scanner
	// under TLS (see rawConn) instead of from the decoder, and
	// directFail a stream error or unreadable markup; message should
	// then be nil.
	direct     func(id, typ []byte)
	directFail func(error)
}

// login dials the server from the i-th source address and runs the whole
// client login: TCP, STARTTLS, SCRAM (SHA-256 preferred, else SHA-1;
// SaltedPassword cached per account, see saltedCache),
// resource binding, roster get and, when presence is set, initial
// presence. What the session receives later goes to h.
func (x *xmppClient) login(ctx context.Context, i int, presence bool, h handlers) (*xmppSession, error) {
	acct := x.cfg.account(i)
	origin, err := jid.New(acct.Local, acct.Domain, "")
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", acct.Addr(), err)
	}
	conn, err := newDialer(x.cfg.source(i), x.cfg.Timeout).DialContext(ctx, "tcp", x.cfg.xmpp.String())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	var rc *rawConn
	starttls := mxmpp.StartTLS(x.tls)
	if h.direct != nil {
		starttls = rawStartTLS(x.tls, &rc, h.direct, h.directFail)
	}
	s, err := mxmpp.NewClientSession(ctx, origin, conn,
		starttls,
		mxmpp.SASL("", acct.Password, x.salted.scramMechanisms()...),
		mxmpp.BindResource(),
	)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("negotiate: %w", err)
	}
	if h.direct != nil && rc == nil {
		s.Close()
		conn.Close()
		return nil, fmt.Errorf("negotiate: no TLS connection to read messages from")
	}
	sess := &xmppSession{s: s, conn: conn, raw: rc, jid: s.LocalAddr(), served: make(chan error, 1)}
	hd := h.raw
	if hd == nil {
		hd = stanzaHandler(h)
	}
	go func() { sess.served <- s.Serve(hd) }()

	iter := roster.Fetch(ctx, s)
	for n := 0; n < maxRosterItems && iter.Next(); n++ {
	}
	if err := iter.Err(); err != nil {
		iter.Close()
		sess.close()
		return nil, fmt.Errorf("roster get: %w", err)
	}
	if err := iter.Close(); err != nil {
		sess.close()
		return nil, fmt.Errorf("roster get: %w", err)
	}
	if !presence {
		return sess, nil
	}
	if err := sess.send(stanza.Presence{}.Wrap(nil), x.cfg.Timeout); err != nil {
		sess.close()
		return nil, fmt.Errorf("initial presence: %w", err)
	}
	return sess, nil
}

// maxStanzaTokens bounds the tokens read from one received presence.
const maxStanzaTokens = 1000

// stanzaHandler passes messages and presence to h and ignores everything
// else (Serve answers unhandled IQs itself).
func stanzaHandler(h handlers) mxmpp.Handler {
	return mxmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		at := time.Now()
		var id, typ, from string
		for _, a := range start.Attr {
			switch a.Name.Local {
			case "id":
				id = a.Value
			case "type":
				typ = a.Value
			case "from":
				from = a.Value
			}
		}
		switch start.Name.Local {
		case "message":
			if h.message != nil {
				h.message(id, typ, at)
			}
		case "presence":
			if typ == string(stanza.SubscribePresence) && h.acceptSubscriptions {
				to, err := jid.Parse(from)
				if err != nil {
					return nil
				}
				if _, err = xmlstream.Copy(t, stanza.Presence{To: to.Bare(), Type: stanza.SubscribedPresence}.Wrap(nil)); err != nil {
					return err
				}
				if h.subscribeBack != nil && h.subscribeBack(to.Bare().String()) {
					_, err = xmlstream.Copy(t, stanza.Presence{To: to.Bare(), Type: stanza.SubscribePresence}.Wrap(nil))
				}
				return err
			}
			if h.presence != nil {
				bare, _, _ := strings.Cut(from, "/")
				h.presence(presenceEvent{From: bare, Type: typ, Status: statusText(t), At: at})
			}
		}
		return nil
	})
}

// statusText reads a presence's children and returns its <status/> text.
func statusText(r xml.TokenReader) string {
	var status strings.Builder
	depth, inStatus := 0, false
	for range maxStanzaTokens {
		tok, err := r.Token()
		if err != nil {
			break
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			depth++
			inStatus = depth == 1 && tk.Name.Local == "status"
		case xml.EndElement:
			depth--
			inStatus = false
		case xml.CharData:
			if inStatus && status.Len() < 1024 {
				status.Write(tk)
			}
		}
	}
	return status.String()
}

// close ends the stream, waits a little for the server to end its own,
// and closes the connection. (Session.SetCloseDeadline is not used: in
// mellium v0.22.0 it races with a running Serve.)
// send writes r on the session within timeout, bounded by the
// connection's write deadline rather than by a context: mellium's Send
// watches its context in a goroutine that, when the context ends just as
// Send returns, may still set a past write deadline (then clear it). A
// write of another goroutine in between fails with "i/o timeout", which
// TLS keeps: every later send on the session failed.
func (x *xmppSession) send(r xml.TokenReader, timeout time.Duration) error {
	_ = x.conn.SetWriteDeadline(time.Now().Add(timeout))
	return x.s.Send(context.Background(), r)
}

func (x *xmppSession) close() {
	_ = x.s.Close()
	tm := time.NewTimer(closeWait)
	defer tm.Stop()
	select {
	case <-x.served:
	case <-tm.C:
	}
	_ = x.conn.Close()
}

// runLogin is xmpp-login: each operation is a whole login (rawLogin: the
// same exchange as login, without mellium), timed up to the initial
// presence; the session is then closed (not timed). With -warmup, a first
// phase logs in once per account (at most -n), not counted in the
// "login" phase: each client's first login, which fills what a client
// keeps between logins (SCRAM's SaltedPassword, TLS session tickets, FAST
// tokens, what -quickstart knows of the server). The counts in the notes
// are the "login" phase's.
func (x *xmppClient) runLogin(ctx context.Context, m meter, res *Result) error {
	login := func(rec *recorder) func(ctx context.Context, _, i int) {
		return func(ctx context.Context, _, i int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			start := time.Now()
			s, err := x.rawLogin(octx, i)
			if err != nil {
				rec.failure(err)
				return
			}
			rec.success(time.Since(start))
			s.close()
		}
	}
	if x.cfg.Warmup {
		w := loop{n: min(x.cfg.Accounts, x.cfg.Count), workers: x.cfg.Concurrent, deadline: time.Now().Add(x.cfg.Duration)}
		p, err := m.phase("warm-up", func(rec *recorder) int64 { return w.run(ctx, login(rec)) })
		res.Phases = append(res.Phases, p)
		if err != nil {
			return err
		}
		if p.OK == 0 { // nothing warmed: the run has failed already
			res.Notes = append(res.Notes, "login = "+x.loginSteps()+"; no warm-up login succeeded, so none was measured")
			return nil
		}
		x.quickLogins.Store(0)
		x.tokens.used.Store(0)
		x.resumed.Store(0)
	}
	l := loop{n: x.cfg.Count, workers: x.cfg.Concurrent, rate: x.cfg.Rate, deadline: time.Now().Add(x.cfg.Duration)}
	p, err := m.phase("login", func(rec *recorder) int64 { return l.run(ctx, login(rec)) })
	res.Phases = append(res.Phases, p)
	res.Notes = append(res.Notes, "login = "+x.loginSteps()+"; its server CPU includes closing the session")
	if x.cfg.Quickstart {
		res.Notes = append(res.Notes, fmt.Sprintf("%d logins sent <authenticate/> with the stream header", x.quickLogins.Load()))
	}
	if x.cfg.Fast {
		res.Notes = append(res.Notes, fmt.Sprintf("%d logins by FAST token", x.tokens.used.Load()))
	}
	if x.cfg.TLSResume {
		res.Notes = append(res.Notes, fmt.Sprintf("%d TLS handshakes resumed", x.resumed.Load()))
	}
	return err
}

// runTLS is xmpp-tls: -n times the login's first part (rawTLS), -c at a
// time; the rate and server CPU of a login's TLS alone, to set beside
// xmpp-login's with the same flags.
func (x *xmppClient) runTLS(ctx context.Context, m meter, res *Result) error {
	l := loop{n: x.cfg.Count, workers: x.cfg.Concurrent, rate: x.cfg.Rate, deadline: time.Now().Add(x.cfg.Duration)}
	p, err := m.phase("tls", func(rec *recorder) int64 {
		return l.run(ctx, func(ctx context.Context, _, i int) {
			octx, cancel := context.WithTimeout(ctx, x.cfg.Timeout)
			defer cancel()
			start := time.Now()
			if err := x.rawTLS(octx, i); err != nil {
				rec.failure(err)
				return
			}
			rec.success(time.Since(start))
		})
	})
	res.Phases = append(res.Phases, p)
	steps := "TCP + STARTTLS + a full TLS handshake"
	if x.cfg.DirectTLS {
		steps = "TCP + a full TLS handshake (direct TLS, XEP-0368)"
	}
	steps += ", the server's certificate checked, then close_notify and close"
	if len(x.cfg.groups) > 0 {
		steps += "; key exchange offered: " + x.cfg.TLSGroups
	}
	res.Notes = append(res.Notes, "operation = "+steps)
	return err
}

// loginSteps says what one xmpp-login operation is, for the result's notes.
func (x *xmppClient) loginSteps() string {
	steps := "TCP + STARTTLS"
	if x.cfg.DirectTLS {
		steps = "TCP + direct TLS (XEP-0368)"
	}
	switch {
	case x.cfg.Quickstart && x.cfg.Fast:
		steps += " + SASL2 with Bind 2 by a FAST token (HT-SHA-256-NONE; an account's first login: SCRAM asking for one), the <authenticate/> sent with the stream header once a login found SASL2 offered"
	case x.cfg.Quickstart:
		steps += " + SASL2 SCRAM with Bind 2, the <authenticate/> sent with the stream header once a login found SASL2 offered"
	case x.cfg.Fast:
		steps += " + SASL2 with Bind 2 by a FAST token (HT-SHA-256-NONE; an account's first login: SCRAM asking for one)"
	case x.cfg.SASL2:
		steps += " + SASL2 SCRAM with Bind 2 (no stream restart, no bind IQ)"
	default:
		steps += " + SCRAM + bind"
	}
	steps += " + roster get + initial presence (the client's writes held until it next reads), "
	if x.cfg.TLSResume {
		steps += "with TLS resumption (session tickets)"
	} else {
		steps += "without TLS resumption"
	}
	if len(x.cfg.groups) > 0 {
		steps += ", key exchange offered: " + x.cfg.TLSGroups
	}
	return steps
}
