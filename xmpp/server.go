package xmpp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/lockout"
	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
	"github.com/crosstalk-im/crosstalk/xmpp/disco"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/pep"
)

// Server serves XMPP clients (RFC 6120 c2s) on any number of listeners:
// STARTTLS listeners with Serve and direct-TLS listeners (XEP-0368) with
// ServeTLS. Every connection gets its own negotiation state, its own reader
// goroutine and, once bound, a writer goroutine draining a bounded
// crosstalk.Mailbox.
type Server struct {
	cfg   Config
	hub   *crosstalk.Hub
	store crosstalk.Store
	log   zerolog.Logger
	mux   *feature.Mux
	pep   *pep.Service
	// caps is the XEP-0115 element of the stream features.
	caps string
	// featureCache holds the stream features of each negotiation state,
	// rendered once (negotiation.features).
	featureCache [32]atomic.Pointer[[]byte]
	now          func() time.Time

	conns *connLimiter
	fails *lockout.Lockout
	// fast derives and checks the XEP-0484 tokens kept in the store
	// (fast.go); nil when FAST is off.
	fast  *fastTokens
	local *registry
	// comps are the external components (XEP-0114, component.go).
	comps *components
	// pushSeq numbers the ids of server-initiated IQs (roster pushes).
	pushSeq atomic.Uint64

	mu        sync.Mutex
	listeners map[net.Listener]bool
	resumable map[string]*session
	ended     smEnded // ended resumable sessions' counts, for <failed/>
	active    map[net.Conn]bool
	closed    bool
	wg        sync.WaitGroup

	// tlsOnce builds the shared TLS configurations (sharedTLS).
	tlsOnce                sync.Once
	tlsStartTLS, tlsDirect *tls.Config
	tlsLeaf                *x509.Certificate

	// writeBufs and readBufs are buffers shared by the sessions' writers
	// and readers while they work, so that idle sessions hold none.
	writeBufs sync.Pool
	readBufs  sync.Pool
	// idle watches the sockets of quiet TLS sessions, which then have no
	// goroutine (nil where epoll is not available).
	idle *idlePoller
}

// New returns a server over the hub and store. The configuration must have
// passed Validate.
func New(cfg Config, hub *crosstalk.Hub, store crosstalk.Store, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		hub:       hub,
		store:     store,
		log:       log.With().Str("component", "xmpp").Logger(),
		now:       time.Now,
		conns:     newConnLimiter(cfg.ConnectionsPerIP),
		local:     newRegistry(),
		listeners: make(map[net.Listener]bool),
		resumable: make(map[string]*session),
		active:    make(map[net.Conn]bool),
		idle:      newIdlePoller(),
	}
	if cfg.FastTokenLifetime > 0 {
		key := []byte(cfg.FastKey)
		if len(key) == 0 {
			key = make([]byte, fastKeyBytes)
			_, _ = rand.Read(key)
			s.log.Info().Msg("no FAST key configured: a key for this process only, tokens will not outlive it")
		}
		s.fast = newFastTokens(key, store, s.log)
	}
	s.comps = newComponents(cfg, func() time.Time { return s.now() })
	s.fails = lockout.New(lockout.Config{Limit: cfg.LoginFailuresPerMinute, Window: time.Minute, MaxKeys: maxLimiterKeys, TrustFor: loginTrust, Now: func() time.Time { return s.now() }})
	s.pep = pep.New(store, s, func() time.Time { return s.now() }, s.log, pep.DefaultLimits())
	s.mux = s.features()
	s.caps = "<c xmlns='" + disco.NSCaps + "' hash='sha-1' node='" + disco.CapsNode + "' ver='" + disco.ServerVer(s.mux, cfg.SoftwareName) + "'/>"
	return s, nil
}

// Serve accepts STARTTLS connections (RFC 6120 §5) on ln until ctx ends or
// Shutdown is called; it then returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, false)
}

// ServeTLS accepts direct-TLS connections (XEP-0368) on ln.
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("xmpp: direct TLS needs a TLS configuration")
	}
	return s.serve(ctx, ln, true)
}

func (s *Server) serve(ctx context.Context, ln net.Listener, direct bool) error {
	return s.acceptLoop(ctx, ln, "accept", func(conn net.Conn) {
		s.wg.Add(1)
		go s.handle(ctx, conn, func(ctx context.Context, n *negotiation) error {
			if direct {
				return n.startTLS(ctx, true)
			}
			return nil
		}, func() {
			s.untrack(conn)
			s.wg.Done()
		})
	})
}

// acceptLoop accepts on ln until ctx ends or Shutdown is called, and hands
// each tracked connection to start; what names the listener in errors. It
// is shared by the client and component listeners.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener, what string, start func(net.Conn)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("xmpp: server shut down")
	}
	s.listeners[ln] = true
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed || !s.listeners[ln]
			delete(s.listeners, ln)
			s.mu.Unlock()
			if closed || ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return fmt.Errorf("xmpp: %s: %w", what, err)
		}
		if !s.track(conn) {
			_ = conn.Close()
			continue
		}
		start(conn)
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.active[c] = true
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.active, c)
	s.mu.Unlock()
}

// Shutdown stops the listeners, ends bound sessions with
// <system-shutdown/> (through the hub's Close, which the caller runs) and
// closes connections still negotiating; it waits for the connection
// goroutines until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	s.listeners = map[net.Listener]bool{}
	s.mu.Unlock()
	for _, sess := range s.local.all() {
		sess.Close(crosstalk.ErrShuttingDown)
	}
	for _, comp := range s.comps.all() {
		comp.Close(crosstalk.ErrShuttingDown)
	}
	s.mu.Lock()
	for c := range s.active {
		if !s.local.owns(c) {
			_ = c.SetDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.active {
			_ = c.Close()
		}
		s.mu.Unlock()
		return fmt.Errorf("xmpp shutdown: %w", ctx.Err())
	}
}

// handle runs one connection from accept to close; prepare sets the
// negotiation up for the transport (direct TLS, WebSocket). exit is called
// once, after the connection is closed. handle may return before that: a
// bound session's reader goes on on other goroutines (session.run).
func (s *Server) handle(ctx context.Context, conn net.Conn, prepare func(context.Context, *negotiation) error, exit func()) {
	growStack()
	remote := remoteAddr(conn)
	sid := newID()
	log := s.log.Hook(&connFields{sid: sid, remote: conn.RemoteAddr().String()})
	if !s.conns.acquire(remote) {
		log.Warn().Msg("connection refused: too many connections from this address")
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = conn.Write(append(streamHeader(sid, s.cfg.Domains[0]), streamErrorXML(condPolicyViolation)...))
		_ = conn.Close()
		exit()
		return
	}
	bound := false
	done := func() {
		s.conns.release(remote)
		_ = conn.Close()
		exit()
	}
	n := &negotiation{srv: s, sid: sid, remote: remote, log: log}
	defer func() {
		if !bound {
			if n.failed {
				closeLingering(conn)
			}
			done()
		}
	}()
	_ = conn.SetDeadline(time.Now().Add(s.cfg.AuthTimeout))
	lim := xmlguard.Limits{MaxBytes: int64(s.cfg.StanzaSize), MaxDepth: s.cfg.MaxDepth, MaxAttrs: s.cfg.MaxAttrs}
	n.t = newTransport(conn, lim, s.cfg.WriteTimeout, &s.readBufs)
	n.t.log = log
	if err := prepare(ctx, n); err != nil {
		log.Debug().Err(err).Msg("connection setup failed")
		return
	}
	sess, err := n.run(ctx)
	if err != nil {
		log.Debug().Err(err).Msg("negotiation ended")
		return
	}
	bound = true
	sess.run(ctx, done)
}

// lingerTime and lingerBytes bound how long and how much of what a client
// still sends is read, and dropped, after the server ended its stream with
// a stream error (closeLingering). lingerBytes covers a stanza of the
// default size limit (256 KiB) cut off at its start.
const (
	lingerTime  = time.Second
	lingerBytes = 256 << 10
)

// closeLingering closes a connection whose stream the server ended with a
// stream error while the client may still be sending (an oversized
// stanza, a flood of failed attempts): it shuts the sending side, so the
// client reads the error and the end of the stream, then reads and drops
// what arrives, up to lingerBytes or lingerTime, and closes. Closing at
// once with unread bytes makes the kernel answer with a TCP reset, which
// fails the client's pending write ("broken pipe") before it has read
// why. The connection still counts against its address's limit while it
// lingers.
func closeLingering(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = conn.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, conn, lingerBytes)
	_ = conn.Close()
}

// negotiationStack is about the stack a negotiation reaches (the TLS
// handshake's ECDSA signature, SQLite's virtual machine, the XML decoder).
const negotiationStack = 16 << 10

// growStack grows the calling goroutine's stack to negotiationStack in one
// copy, while it is shallow. A goroutine starts small and otherwise grows
// by doublings, each copying the whole stack, in the middle of the
// handshake and the store reads; a profile of logins showed those copies
// at about 2 % of the server's CPU. The bigger stack is given back when
// the session goes quiet (its reader ends, see session.run).
//
//go:noinline
func growStack() {
	var frame [negotiationStack]byte
	touchFrame(frame[:])
}

// touchFrame writes into growStack's frame so that the compiler keeps it;
// the slice does not escape, so the frame stays on the stack.
//
//go:noinline
func touchFrame(b []byte) { b[len(b)-1] = 1 }

func remoteAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// leafOf returns a certificate's parsed leaf, or nil.
func leafOf(c *tls.Certificate) *x509.Certificate {
	if c.Leaf != nil || len(c.Certificate) == 0 {
		return c.Leaf
	}
	leaf, _ := x509.ParseCertificate(c.Certificate[0])
	return leaf
}

// sharedTLS returns the TLS configuration all connections of a kind
// (STARTTLS or direct TLS) share, with the one certificate it serves,
// when the configuration has exactly one fixed certificate (the usual
// case, and the self-signed default): then the certificate served, which
// tls-server-end-point binds to, is known without a per-connection clone
// of the configuration (which each connection would keep). Nil otherwise.
func (s *Server) sharedTLS(direct bool) (*tls.Config, *x509.Certificate) {
	s.tlsOnce.Do(func() {
		base := s.cfg.TLS
		if base == nil || base.GetCertificate != nil || base.GetConfigForClient != nil || len(base.Certificates) != 1 {
			return
		}
		s.tlsLeaf = leafOf(&base.Certificates[0])
		s.tlsStartTLS = base.Clone()
		s.tlsDirect = base.Clone()
		if len(s.tlsDirect.NextProtos) == 0 {
			s.tlsDirect.NextProtos = []string{"xmpp-client"}
		}
	})
	if s.tlsStartTLS == nil {
		return nil, nil
	}
	if direct {
		return s.tlsDirect, s.tlsLeaf
	}
	return s.tlsStartTLS, s.tlsLeaf
}

// serverTLS returns a per-connection TLS configuration that records the
// certificate presented, for tls-server-end-point channel binding.
func (s *Server) serverTLS(direct bool, record func(*tls.Certificate)) *tls.Config {
	base := s.cfg.TLS
	c := base.Clone()
	c.Certificates = nil
	c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		var cert *tls.Certificate
		if base.GetCertificate != nil {
			got, err := base.GetCertificate(hello)
			if err != nil {
				return nil, err
			}
			cert = got
		}
		if cert == nil && len(base.Certificates) > 0 {
			cert = &base.Certificates[0]
		}
		if cert == nil {
			return nil, errors.New("xmpp: no certificate")
		}
		record(cert)
		return cert, nil
	}
	if direct && len(c.NextProtos) == 0 {
		c.NextProtos = []string{"xmpp-client"}
	}
	return c
}

// connFields adds a connection's sid and remote address to each of its log
// events. A hook costs a few bytes; zerolog's With gives every logger its
// own 500-byte context buffer, which each idle session would keep.
type connFields struct{ sid, remote string }

// Run implements zerolog.Hook.
func (f *connFields) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str("sid", f.sid).Str("remote", f.remote)
}

// logField adds one field to each log event, like connFields: a bound
// session's jid, a WebSocket connection's transport.
type logField struct{ key, value string }

// Run implements zerolog.Hook.
func (f logField) Run(e *zerolog.Event, _ zerolog.Level, _ string) { e.Str(f.key, f.value) }
