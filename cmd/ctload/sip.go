package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/rs/zerolog"
)

// sipClient makes user agents that talk to the SIP server under test.
type sipClient struct {
	cfg *config
	log zerolog.Logger
}

func newSIPClient(cfg *config, log zerolog.Logger) *sipClient {
	return &sipClient{cfg: cfg, log: log}
}

// sipUA is one user agent on its own UDP socket (or, over TCP and TLS, its
// own connection from a fixed local port), which both sends requests and
// receives what the server relays to its contact.
type sipUA struct {
	c      *sipClient
	ua     *sipgo.UserAgent
	client *sipgo.Client
	pc     net.PacketConn // UDP only
	addr   netip.AddrPort

	mu    sync.Mutex
	auth  map[string]*cachedChallenge // by account: challenge to answer pre-emptively
	onMsg func(*sipmsg.Request)
}

// cachedChallenge is a challenge answered again with increasing nonce counts.
type cachedChallenge struct {
	chal  *digest.Challenge
	proxy bool
	count int
}

// newUA starts a user agent on the i-th source address (127.0.0.1 when no
// -src was given); onMessage, if not nil, sees every MESSAGE received,
// which is answered 200.
func (c *sipClient) newUA(ctx context.Context, i int, onMessage func(*sipmsg.Request)) (*sipUA, error) {
	src := c.cfg.source(i)
	if !src.IsValid() {
		src = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if c.cfg.SIPTransport != "udp" {
		return c.newStreamUA(ctx, src, onMessage)
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", netip.AddrPortFrom(src, 0).String())
	if err != nil {
		return nil, fmt.Errorf("sip socket: %w", err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("ctload"), sipgo.WithUserAgentHostname(c.cfg.Domain))
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	u := &sipUA{c: c, ua: ua, pc: pc, addr: addr, auth: make(map[string]*cachedChallenge), onMsg: onMessage}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		u.close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	srv.OnMessage(u.answerMessage)
	srv.OnOptions(answerOK)
	go func() { _ = srv.ServeUDP(pc) }()
	// The client must send from the served socket, which the transport
	// layer knows once ServeUDP has registered it.
	for range 200 {
		if conn, _ := ua.TransportLayer().GetConnection("udp", addr.String()); conn != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	u.client, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(addr.String()), sipgo.WithClientHostname(addr.Addr().String()))
	if err != nil {
		u.close()
		return nil, fmt.Errorf("sip client: %w", err)
	}
	return u, nil
}

// newStreamUA is newUA over TCP or TLS: the user agent's one connection
// to the server leaves from a local port chosen here, so that the Contact
// it registers names that connection's address (RFC 3261 §18: the server
// sends requests for the contact over the connection it came in on, as
// Kamailio and Crosstalk do); requests arriving on it are answered 200.
func (c *sipClient) newStreamUA(ctx context.Context, src netip.Addr, onMessage func(*sipmsg.Request)) (*sipUA, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", netip.AddrPortFrom(src, 0).String())
	if err != nil {
		return nil, fmt.Errorf("sip local port: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	opts := []sipgo.UserAgentOption{sipgo.WithUserAgent("ctload"), sipgo.WithUserAgentHostname(c.cfg.Domain)}
	if c.cfg.SIPTransport == "tls" {
		tc, err := c.cfg.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, sipgo.WithUserAgenTLSConfig(tc))
	}
	ua, err := sipgo.NewUA(opts...)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	u := &sipUA{c: c, ua: ua, addr: addr, auth: make(map[string]*cachedChallenge), onMsg: onMessage}
	srv, err := sipgo.NewServer(ua) // its handlers serve requests on the client's connection
	if err != nil {
		u.close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	srv.OnMessage(u.answerMessage)
	srv.OnOptions(answerOK)
	u.client, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(addr.String()), sipgo.WithClientHostname(addr.Addr().String()))
	if err != nil {
		u.close()
		return nil, fmt.Errorf("sip client: %w", err)
	}
	return u, nil
}

// answerMessage reports a MESSAGE to onMsg and answers it 200.
func (u *sipUA) answerMessage(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if u.onMsg != nil {
		u.onMsg(req)
	}
	answerOK(req, tx)
}

// answerOK answers 200 and ends the server transaction at once. Over UDP
// sipgo would keep it for Timer J (32 s) to absorb retransmissions: at
// 8,000 MESSAGEs/s that held some 150 MB in ctload and made its garbage
// collector, which shares the cores with the server under test, part of
// the latency measured. A retransmitted request (our 200 lost) is then
// answered again and reported again; the scenarios match arrivals by id,
// and count each id once.
func answerOK(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil))
	tx.Terminate()
}

func (u *sipUA) close() {
	_ = u.ua.Close()
	if u.pc != nil {
		_ = u.pc.Close()
	}
}

// contact returns the UA's contact URI for acct (with transport=tcp or
// tls over those).
func (u *sipUA) contact(acct account) sipmsg.Uri {
	c := sipmsg.Uri{Scheme: "sip", User: acct.Local, Host: u.addr.Addr().String(), Port: int(u.addr.Port())}
	if t := u.c.cfg.SIPTransport; t != "udp" {
		c.UriParams = sipmsg.NewParams()
		c.UriParams.Add("transport", t)
	}
	return c
}

// aor returns the address of record of an account.
func aor(a account) sipmsg.Uri {
	return sipmsg.Uri{Scheme: "sip", User: a.Local, Host: a.Domain}
}

// newRequest builds a request from acct to the URI, addressed to the
// server under test whatever the URI says.
func (u *sipUA) newRequest(method sipmsg.RequestMethod, ruri sipmsg.Uri, from account, to sipmsg.Uri) *sipmsg.Request {
	req := sipmsg.NewRequest(method, ruri)
	fh := &sipmsg.FromHeader{Address: aor(from)}
	fh.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(fh)
	req.AppendHeader(&sipmsg.ToHeader{Address: to})
	req.SetDestination(u.c.cfg.sip.String())
	req.SetTransport(strings.ToUpper(u.c.cfg.SIPTransport))
	return req
}

// do sends req and answers digest challenges for acct: a cached challenge
// pre-emptively when cache is set, then at most one fresh challenge.
func (u *sipUA) do(ctx context.Context, req *sipmsg.Request, acct account, cache bool) (*sipmsg.Response, error) {
	if cache {
		u.mu.Lock()
		cc := u.auth[acct.Local]
		if cc != nil {
			cc.count++
			if err := applyDigest(req, cc.chal, cc.proxy, acct, cc.count); err != nil {
				u.mu.Unlock()
				return nil, err
			}
		}
		u.mu.Unlock()
	}
	res, err := u.client.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Method, err)
	}
	if res.StatusCode != sipmsg.StatusUnauthorized && res.StatusCode != sipmsg.StatusProxyAuthRequired {
		return res, nil
	}
	proxy := res.StatusCode == sipmsg.StatusProxyAuthRequired
	chal, err := bestChallenge(res, proxy)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Method, err)
	}
	if err := applyDigest(req, chal, proxy, acct, 1); err != nil {
		return nil, err
	}
	if cache {
		u.mu.Lock()
		u.auth[acct.Local] = &cachedChallenge{chal: chal, proxy: proxy, count: 1}
		u.mu.Unlock()
	}
	req.CSeq().SeqNo++
	req.RemoveHeader("Via")
	res, err = u.client.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s with credentials: %w", req.Method, err)
	}
	return res, nil
}

// errNoChallenge is a 401/407 without a digest challenge we can answer.
var errNoChallenge = errors.New("no usable digest challenge")

// bestChallenge picks, among the response's challenges, SHA-256 over MD5.
func bestChallenge(res *sipmsg.Response, proxy bool) (*digest.Challenge, error) {
	name := "WWW-Authenticate"
	if proxy {
		name = "Proxy-Authenticate"
	}
	var best *digest.Challenge
	for _, h := range res.GetHeaders(name) {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		chal.Algorithm = strings.ToUpper(chal.Algorithm)
		if !digest.CanDigest(chal) {
			continue
		}
		if best == nil || (chal.Algorithm == "SHA-256" && best.Algorithm != "SHA-256") {
			best = chal
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%d %s: %w", res.StatusCode, res.Reason, errNoChallenge)
	}
	return best, nil
}

// applyDigest sets the Authorization (or Proxy-Authorization) header.
func applyDigest(req *sipmsg.Request, chal *digest.Challenge, proxy bool, acct account, count int) error {
	cred, err := digest.Digest(chal, digest.Options{
		Method:   req.Method.String(),
		URI:      req.Recipient.Addr(),
		Username: acct.Local,
		Password: acct.Password,
		Count:    count,
	})
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	req.RemoveHeader(name)
	req.AppendHeader(sipmsg.NewHeader(name, cred.String()))
	return nil
}

// register binds acct to this UA's address for expires seconds (0
// removes the binding), answering the challenge.
func (u *sipUA) register(ctx context.Context, acct account, expires int) error {
	req := u.newRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: acct.Domain}, acct, aor(acct))
	req.AppendHeader(&sipmsg.ContactHeader{Address: u.contact(acct)})
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(expires)))
	res, err := u.do(ctx, req, acct, false)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if res.StatusCode != sipmsg.StatusOK {
		return fmt.Errorf("register: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// runRegister is sip-register: -c user agents on the source addresses
// register accounts in turn; each operation is the whole REGISTER, 401,
// REGISTER with credentials, 200 exchange.
func (c *sipClient) runRegister(ctx context.Context, m meter, res *Result) error {
	uas := make([]*sipUA, c.cfg.Concurrent)
	defer closeUAs(uas)
	for w := range uas {
		ua, err := c.newUA(ctx, w, nil)
		if err != nil {
			return err
		}
		uas[w] = ua
	}
	// bound[w] holds the accounts UA w registered, to remove afterwards.
	bound := make([]map[int]bool, len(uas))
	for w := range bound {
		bound[w] = make(map[int]bool)
	}
	l := loop{n: c.cfg.Count, workers: c.cfg.Concurrent, rate: c.cfg.Rate, deadline: time.Now().Add(c.cfg.Duration)}
	p, err := m.phase("register", func(rec *recorder) int64 {
		return l.run(ctx, func(ctx context.Context, w, i int) {
			octx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
			defer cancel()
			start := time.Now()
			if err := uas[w].register(octx, c.cfg.account(i), 300); err != nil {
				rec.failure(err)
				return
			}
			rec.success(time.Since(start))
			bound[w][i%c.cfg.Accounts] = true // only worker w touches bound[w]
		})
	})
	res.Phases = append(res.Phases, p)
	c.unregisterAll(ctx, uas, bound)
	res.Notes = append(res.Notes, "register = REGISTER, 401 challenge, REGISTER with digest (SHA-256 when offered, else MD5), 200; over "+strings.ToUpper(c.cfg.SIPTransport))
	return err
}

// unregisterTime bounds the clean-up after sip-register.
const unregisterTime = 10 * time.Second

// unregisterAll removes, best effort and within unregisterTime, the
// bindings a run made, so that later runs do not fork to dead contacts.
func (c *sipClient) unregisterAll(ctx context.Context, uas []*sipUA, bound []map[int]bool) {
	ctx, cancel := context.WithTimeout(ctx, unregisterTime)
	defer cancel()
	var wg sync.WaitGroup
	for w, accts := range bound {
		wg.Go(func() {
			for i := range accts {
				if ctx.Err() != nil {
					return
				}
				_ = uas[w].register(ctx, c.cfg.account(i), 0)
			}
		})
	}
	wg.Wait()
}

func closeUAs(uas []*sipUA) {
	for _, u := range uas {
		if u != nil {
			u.close()
		}
	}
}
