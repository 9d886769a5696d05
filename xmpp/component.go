package xmpp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/lockout"
	"github.com/crosstalk-im/crosstalk/internal/xmlguard"
)

// components is the server's XEP-0114 side: the configured secrets, the
// handshake lock-out and the connected components.
type components struct {
	secrets map[string]string
	fails   *lockout.Lockout

	mu   sync.Mutex
	live map[*component]bool
}

func newComponents(cfg Config, now func() time.Time) *components {
	c := &components{secrets: make(map[string]string, len(cfg.Components)), live: map[*component]bool{}}
	for _, comp := range cfg.Components {
		c.secrets[comp.Domain] = comp.Secret
	}
	c.fails = lockout.New(lockout.Config{Limit: cfg.ComponentHandshakeFailures, Window: time.Minute, MaxKeys: maxLimiterKeys, Now: now})
	return c
}

func (c *components) add(comp *component) {
	c.mu.Lock()
	c.live[comp] = true
	c.mu.Unlock()
}

func (c *components) remove(comp *component) {
	c.mu.Lock()
	delete(c.live, comp)
	c.mu.Unlock()
}

func (c *components) all() []*component {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*component, 0, len(c.live))
	for comp := range c.live {
		out = append(out, comp)
	}
	return out
}

// ServeComponents accepts external components (XEP-0114, the Jabber
// Component Protocol) on ln until ctx ends or Shutdown is called. Each
// connection must complete the handshake for one of Config.Components
// within AuthTimeout; it then serves that domain (Hub.BindDomain). The
// listener should be on loopback or a private network: the protocol has no
// TLS.
func (s *Server) ServeComponents(ctx context.Context, ln net.Listener) error {
	return s.acceptLoop(ctx, ln, "component accept", func(conn net.Conn) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(conn)
			s.handleComponent(ctx, conn)
		}()
	})
}

// handleComponent runs one component connection from accept to close.
func (s *Server) handleComponent(ctx context.Context, conn net.Conn) {
	remote := remoteAddr(conn)
	sid := newID()
	log := s.log.With().Str("sid", sid).Str("remote", conn.RemoteAddr().String()).Str("stream", "component").Logger()
	defer func() { _ = conn.Close() }()
	if !s.conns.acquire(remote) {
		log.Warn().Msg("component connection refused: too many connections from this address")
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = conn.Write(append(componentHeader(sid, s.cfg.Domains[0]), streamErrorXML(condPolicyViolation)...))
		return
	}
	defer s.conns.release(remote)
	_ = conn.SetDeadline(time.Now().Add(s.cfg.AuthTimeout))
	lim := xmlguard.Limits{MaxBytes: int64(s.cfg.StanzaSize), MaxDepth: s.cfg.MaxDepth, MaxAttrs: s.cfg.MaxAttrs}
	t := newTransport(conn, lim, s.cfg.WriteTimeout, &s.readBufs)
	t.log = log
	comp, err := s.componentHandshake(ctx, t, sid, remote.String(), log)
	if err != nil {
		log.Debug().Err(err).Msg("component handshake ended")
		return
	}
	_ = conn.SetDeadline(time.Time{})
	comp.run(ctx)
}

// componentHandshake reads the component's stream header and handshake
// (XEP-0114 §3) and binds the component's domain. Every failure has
// already been answered with its stream error when it returns.
func (s *Server) componentHandshake(ctx context.Context, t *transport, sid, source string, log zerolog.Logger) (*component, error) {
	domain := s.cfg.Domains[0]
	headerSent := false
	fail := func(err error) error {
		cond := streamCondition(err)
		if cond == "" {
			if !isTimeout(err) {
				return err
			}
			cond = condConnectionTimeout
		}
		var out []byte
		if !headerSent {
			out = componentHeader(sid, domain)
		}
		_ = t.write(append(out, streamErrorXML(cond)...))
		return err
	}
	hdr, err := t.readHeader()
	if err != nil {
		return nil, fail(err)
	}
	if attr(hdr, "", "xmlns") != nsComponent {
		return nil, fail(newStreamError(condInvalidNamespace, "the default namespace must be "+nsComponent))
	}
	to := attr(hdr, "", "to")
	if a, err := crosstalk.ParseAddress(to); err == nil && a.Local() == "" && a.Resource() == "" {
		to = a.Domain() // normalised (RFC 7622), as the configuration is
	}
	secret, known := s.comps.secrets[to]
	if !known {
		return nil, fail(newStreamError(condHostUnknown, "no component is configured for this domain"))
	}
	domain = to
	log = log.With().Str("jid", domain).Logger()
	if _, locked := s.comps.fails.SourceLocked(source); locked {
		return nil, fail(newStreamError(condPolicyViolation, "too many failed handshakes from this address"))
	}
	if _, locked := s.comps.fails.AccountLocked(domain, source); locked {
		return nil, fail(newStreamError(condPolicyViolation, "too many failed handshakes for this component"))
	}
	if err := t.write(componentHeader(sid, domain)); err != nil {
		return nil, err
	}
	headerSent = true
	el, err := t.next()
	if err != nil {
		return nil, fail(err)
	}
	if el.start.Name.Space != nsComponent || el.start.Name.Local != "handshake" {
		return nil, fail(newStreamError(condNotAuthorized, "<"+el.start.Name.Local+"/> before the handshake"))
	}
	digest, err := parseHandshake(el.raw)
	if err != nil || !handshakeValid(digest, sid, secret) {
		s.comps.fails.Fail(domain, source)
		log.Info().Msg("component handshake failed")
		return nil, fail(newStreamError(condNotAuthorized, "handshake does not verify"))
	}
	comp := newComponent(s, t, domain, log)
	if err := s.hub.BindDomain(ctx, domain, comp); err != nil {
		if errors.Is(err, crosstalk.ErrConflict) {
			return nil, fail(newStreamError(condConflict, "the component is already connected"))
		}
		return nil, fail(fmt.Errorf("%w: %v", newStreamError(condInternal, "binding the domain failed"), err))
	}
	s.comps.fails.Succeed(domain, source)
	if err := t.write([]byte("<handshake/>")); err != nil {
		s.hub.UnbindDomain(domain, comp)
		return nil, err
	}
	log.Info().Msg("component connected")
	return comp, nil
}
