package sip

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/crosstalk-im/crosstalk/internal/lockout"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/logging"
	"github.com/crosstalk-im/crosstalk/internal/nonce"
)

// Server is the SIP frontend: listeners, registrar, MESSAGE and proxy. It is
// safe for concurrent use; Start it once and Shutdown it once.
type Server struct {
	cfg     Config
	hub     *crosstalk.Hub
	store   crosstalk.Store
	log     zerolog.Logger
	now     func() time.Time
	domains map[string]bool

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	nonces *nonce.Store
	// key keys the Record-Route tokens and the temporary GRUUs.
	key     [32]byte
	lockout *lockout.Lockout
	limiter *rateLimiter
	creds   *credCache
	acks    *ackOrder
	load    *loadGuard
	reg     *registrar
	ws      *wsListener // nil without Config.WebSocket
	pres    *presenceServer
	pool    *handlerPool
	// deadlines gives MESSAGE and REGISTER handlers their context.
	deadlines sharedDeadline

	mu      sync.Mutex
	host    string
	ports   map[string]int // network ("udp", "tcp", "tls") → bound port
	addrs   map[string]string
	closers []func() error
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New builds a server over the hub and store; nothing listens until Start.
func New(cfg Config, hub *crosstalk.Hub, store crosstalk.Store, log zerolog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		hub:     hub,
		store:   store,
		log:     log.With().Str("component", "sip").Logger(),
		now:     time.Now,
		domains: make(map[string]bool, len(cfg.Domains)),
		ports:   make(map[string]int),
		addrs:   make(map[string]string),
	}
	for _, d := range cfg.Domains {
		s.domains[d] = true
	}
	s.nonces = nonce.New(cfg.NonceTTL, maxNonces, s.now)
	_, _ = rand.Read(s.key[:])
	s.lockout = lockout.New(lockout.Config{Limit: cfg.LoginFailuresPerMinute, Window: time.Minute, MaxKeys: maxTracked, TrustFor: loginTrust, Now: s.now})
	s.limiter = newRateLimiter(cfg.RequestsPerSecond, cfg.RequestBurst, s.now)
	s.acks = newACKOrder(s.now)
	s.creds = newCredCache(cfg.CredentialCacheTTL, s.now)
	s.load = newLoadGuard(cfg.MaxInFlight)
	s.pool = newHandlerPool()
	s.reg = newRegistrar(s)
	s.pres = newPresenceServer(s)
	if cfg.WebSocket {
		s.ws = newWSListener()
	}

	slog := logging.Slog(s.log.Level(maxLevel(s.log.GetLevel(), zerolog.WarnLevel)))
	parser := sipmsg.NewParser()
	parser.MaxMessageLength = cfg.MaxMessageSize
	var err error
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentParser(parser),
		sipgo.WithUserAgenTLSConfig(cfg.TLSConfig),
		sipgo.WithUserAgentTransportLayerOptions(
			sipmsg.WithTransportLayerLogger(slog),
			sipmsg.WithTransportLayerReadFilter(s.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			sipmsg.WithTransactionLayerLogger(slog),
			sipmsg.WithTransactionLayerTerminateOnConnClose(),
			sipmsg.WithTransactionLayerUnhandledResponseHandler(s.unhandledResponse),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	if s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(slog)); err != nil {
		return nil, fmt.Errorf("sip server: %w", err)
	}
	s.routes()
	return s, nil
}

func maxLevel(a, b zerolog.Level) zerolog.Level {
	if a > b {
		return a
	}
	return b
}

// Start opens the configured listeners and serves until Shutdown or until
// ctx ends. It returns once every listener is open, after reloading the
// registration bindings kept in the store.
func (s *Server) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	s.pool.start(ctx, handlerWorkers, &s.wg)
	var listeners []func() error
	if s.cfg.UDP != "" {
		pc, err := net.ListenPacket("udp", s.cfg.UDP)
		if err != nil {
			return s.startFailed(fmt.Errorf("sip udp listener: %w", err))
		}
		if uc, ok := pc.(*net.UDPConn); ok {
			// The kernel caps it at net.core.rmem_max; asking is harmless.
			if err := uc.SetReadBuffer(s.cfg.UDPReadBuffer); err != nil {
				s.log.Warn().Err(err).Int("bytes", s.cfg.UDPReadBuffer).Msg("sip udp receive buffer not set")
			}
			if s.cfg.UDPQueueDelayLimit > 0 {
				if tc, err := newQueueTimedConn(uc, s.load, s.cfg.UDPQueueDelayLimit); err != nil {
					s.log.Warn().Err(err).Msg("sip udp queue-delay guard off")
				} else {
					pc = tc
				}
			}
		}
		s.bound("udp", pc.LocalAddr(), pc.Close)
		listeners = append(listeners, func() error { return s.srv.ServeUDP(pc) })
	}
	if s.cfg.TCP != "" {
		tcp, err := net.Listen("tcp", s.cfg.TCP)
		if err != nil {
			return s.startFailed(fmt.Errorf("sip tcp listener: %w", err))
		}
		ln := newLimitListener(tcp, s.cfg.ConnectionsPerIP, func(raddr string) { s.reg.flowClosed("tcp", raddr) })
		s.bound("tcp", ln.Addr(), ln.Close)
		listeners = append(listeners, func() error { return s.srv.ServeTCP(ln) })
	}
	if s.cfg.TLS != "" {
		tcp, err := net.Listen("tcp", s.cfg.TLS)
		if err != nil {
			return s.startFailed(fmt.Errorf("sip tls listener: %w", err))
		}
		ln := tls.NewListener(newLimitListener(tcp, s.cfg.ConnectionsPerIP, func(raddr string) { s.reg.flowClosed("tls", raddr) }), s.cfg.TLSConfig)
		s.bound("tls", ln.Addr(), ln.Close)
		listeners = append(listeners, func() error { return s.srv.ServeTLS(ln) })
	}
	if s.ws != nil {
		ws := s.ws
		s.mu.Lock()
		s.closers = append(s.closers, ws.Close)
		s.mu.Unlock()
		listeners = append(listeners, func() error { return s.srv.ServeWS(ws) })
	}
	s.setHost()
	client, err := sipgo.NewClient(s.ua, sipgo.WithClientHostname(s.host), sipgo.WithClientLogger(logging.Slog(s.log.Level(maxLevel(s.log.GetLevel(), zerolog.WarnLevel)))))
	if err != nil {
		return s.startFailed(fmt.Errorf("sip client: %w", err))
	}
	s.client = client
	for _, serve := range listeners {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := serve(); err != nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error().Err(err).Msg("sip listener stopped")
			}
		}()
	}
	if err := s.reg.reload(ctx); err != nil {
		s.log.Error().Err(err).Msg("reloading registrations failed")
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.reg.sweepLoop(ctx)
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-ctx.Done()
		s.closeListeners()
	}()
	s.log.Info().Interface("listen", s.Addrs()).Str("host", s.host).Msg("sip listening")
	return nil
}

func (s *Server) startFailed(err error) error {
	s.closeListeners()
	return err
}

func (s *Server) bound(network string, a net.Addr, closer func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addrs[network] = a.String()
	if _, p, err := net.SplitHostPort(a.String()); err == nil {
		s.ports[network], _ = strconv.Atoi(p)
	}
	s.closers = append(s.closers, closer)
}

// setHost picks the host of our Via and Record-Route headers.
func (s *Server) setHost() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Host != "" {
		s.host = s.cfg.Host
		return
	}
	for _, n := range []string{"udp", "tcp", "tls"} {
		if a, ok := s.addrs[n]; ok {
			if h, _, err := net.SplitHostPort(a); err == nil {
				if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
					s.host = h
					return
				}
			}
		}
	}
	s.host = s.cfg.Domains[0]
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	for _, c := range closers {
		_ = c()
	}
}

// Addrs returns the bound listen address per network ("udp", "tcp", "tls").
func (s *Server) Addrs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.addrs))
	for k, v := range s.addrs {
		out[k] = v
	}
	return out
}

// Shutdown stops the listeners and the transaction layer and waits for the
// server's goroutines, at most until ctx ends. Registration bindings stay
// in the store for the next start: the binding changes not written yet
// are written first. A nil server has nothing to stop.
func (s *Server) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.pres.close() // final NOTIFYs (deactivated) while the transports still work
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.closeListeners()
	s.reg.closeAll(ctx)
	err := s.ua.Close()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return err
}

// isLocalDomain reports whether host is a domain served here.
func (s *Server) isLocalDomain(host string) bool { return s.domains[host] }

// isSelf reports whether a URI names this server: a served domain without a
// user, or our own host and one of our ports.
func (s *Server) isSelf(u *sipmsg.Uri) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Host == s.host || s.isLoopbackSelf(u.Host) {
		if u.Port == 0 {
			return true
		}
		for _, p := range s.ports {
			if p == u.Port {
				return true
			}
		}
	}
	return false
}

// isLoopbackSelf treats a listener's own IP as ourselves.
func (s *Server) isLoopbackSelf(host string) bool {
	for _, a := range s.addrs {
		if h, _, err := net.SplitHostPort(a); err == nil && h == host {
			return true
		}
	}
	return false
}

// unhandledResponse handles responses that match no client transaction:
// retransmitted 2xx to an INVITE we forwarded go upstream statelessly (RFC
// 3261 §16.7 step 5, the INVITE client transaction ends on the first 2xx);
// anything else is dropped.
func (s *Server) unhandledResponse(res *sipmsg.Response) {
	v := res.Via()
	branch := ""
	if v != nil {
		branch, _ = v.Params.Get("branch")
	}
	cseq := res.CSeq()
	if v == nil || !strings.HasPrefix(branch, branchPrefix) || !s.isSelf(&sipmsg.Uri{Host: v.Host, Port: v.Port}) ||
		!res.IsSuccess() || cseq == nil || cseq.MethodName != sipmsg.INVITE {
		s.log.Debug().Str("response", res.StartLine()).Str("call_id", callID(res)).Msg("response matches no transaction; dropped")
		return
	}
	up := res.Clone()
	up.RemoveHeader("Via")
	if up.Via() == nil {
		return
	}
	up.SetTransport("")
	up.SetDestination("")
	up.SetTransport(up.Transport())
	if err := s.srv.WriteResponse(up); err != nil {
		s.log.Debug().Err(err).Str("call_id", callID(res)).Msg("relaying a retransmitted 2xx failed")
	}
}
