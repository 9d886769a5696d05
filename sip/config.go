package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// Config configures the SIP frontend. cmd/crosstalk fills it from the
// configuration file; zero fields take the values of Defaults.
type Config struct {
	// Domains are the domains served; each is also the digest realm of its
	// accounts.
	Domains []string
	// UDP, TCP and TLS are listen addresses (host:port); empty disables one.
	UDP, TCP, TLS string
	// TLSConfig is required when TLS is set.
	TLSConfig *tls.Config
	// WebSocket serves SIP over WebSocket (RFC 7118) on the HTTPS listener
	// through Server.WebSocket.
	WebSocket bool
	// Host is the host put in our Via and Record-Route headers; empty means
	// the host of the first listener (or the first domain when that host is
	// unspecified, like ":5060").
	Host string
	// MaxMessageSize is the largest SIP message accepted, in bytes
	// (limits.sip_message_size). Default 65535.
	MaxMessageSize int
	// LoginFailuresPerMinute locks out a source address or an account after
	// that many failed digest verifications within a minute
	// (limits.login_failures_per_minute). Default 10.
	LoginFailuresPerMinute int
	// ConnectionsPerIP bounds the open TCP and TLS connections from one
	// address (limits.connections_per_ip). Default 64.
	ConnectionsPerIP int
	// RequestsPerSecond and RequestBurst bound the requests one source
	// address may send; beyond them it gets 503 with Retry-After.
	// Defaults 50 and 100.
	RequestsPerSecond float64
	RequestBurst      int
	// MinExpires, MaxExpires and DefaultExpires bound registrations (RFC
	// 3261 §10.3: 423 below MinExpires). Defaults 60 s, 7200 s, 3600 s.
	MinExpires, MaxExpires, DefaultExpires time.Duration
	// MaxBindingsPerAOR bounds the contacts one address of record may
	// register; more are refused with 403. Default 32.
	MaxBindingsPerAOR int
	// NonceTTL is how long a digest nonce is accepted before a challenge
	// with stale=true. Default 5 minutes.
	NonceTTL time.Duration
	// SweepInterval is how often expired bindings are removed. Default 5 s.
	SweepInterval time.Duration
	// DeliveryTimeout bounds sending one MESSAGE to a binding. Default 32 s
	// (Timer F).
	DeliveryTimeout time.Duration
	// MailboxCount and MailboxBytes bound each binding's queue (a binding
	// that falls further behind is disconnected and its messages stored).
	// Defaults 1024 and 4 MiB.
	MailboxCount, MailboxBytes int
	// SendWindow is how many MESSAGE transactions a binding may have in
	// flight. They start one after the other in queue order on the
	// binding's flow, so they reach the UA in the order each sender sent
	// them (over UDP, unless a datagram is lost and its retransmission
	// overtaken); a UA that handles concurrent requests out of arrival
	// order needs 1 (wait for each answer). A transaction that fails
	// hands its message, and those after it not yet sent, back to the
	// hub in queue order. Default 128: a binding that receives hundreds
	// of MESSAGEs a second (a gateway, a bot) is not held to the window
	// per round trip when the round trip grows under load (design 006,
	// "Send window").
	SendWindow int
	// DigestAlgorithms are offered in this order, one challenge each (RFC
	// 8760 §2.4: most preferred first). Default SHA-256, MD5.
	DigestAlgorithms []string
	// UserAgent is the Server and User-Agent header value. Default
	// "Crosstalk".
	UserAgent string
	// BindingWriteDelay is how long a changed registration binding may
	// wait before it is written to the store, together with the other
	// changes of that interval (write-behind; the in-memory bindings are
	// the authority). A crash loses at most this much. Default 10 ms.
	BindingWriteDelay time.Duration
	// CredentialCacheTTL is how long an account's digest credentials
	// (HA1) are reused without reading the store. A failed verification
	// always reads the store again, and a password change or account
	// deletion through the hub forgets them at once for accounts with a
	// binding; otherwise an old password may be accepted this long after
	// a change. Negative: no cache. Default 2 s.
	CredentialCacheTTL time.Duration
	// MaxInFlight bounds the requests being handled at once (ACK and
	// CANCEL excepted; an INVITE only while it is admitted, not while it
	// rings): beyond it new requests get 503 with Retry-After (RFC 3261
	// §21.5.4), so a server past saturation answers at once instead of
	// queueing until UDP clients retransmit. Default 256.
	MaxInFlight int
	// UDPReadBuffer is the UDP listener's socket receive buffer (SO_RCVBUF;
	// the kernel caps it at net.core.rmem_max). The default 4 MiB holds a
	// few hundred milliseconds of requests at full load, where the Linux
	// default (208 KiB, some 200 datagrams) overflows whenever the process
	// is held up for a few milliseconds, and every dropped request comes
	// back as a retransmission.
	UDPReadBuffer int
	// UDPQueueDelayLimit is how long a request may wait in the UDP
	// socket's receive queue (from the kernel's receive timestamp to
	// sipgo's read) before every new request gets 503 like past
	// MaxInFlight. From half of it a share of new requests, rising with
	// the wait, is refused; past T1 (500 ms) requests are discarded unread
	// (loadGuard.queued). Default 100 ms, a fifth of T1, so that a
	// refused client is told before it would retransmit; negative: no
	// limit. Linux on 64-bit systems only.
	UDPQueueDelayLimit time.Duration
	// Presence configures SUBSCRIBE/NOTIFY and PUBLISH (presence_config.go).
	Presence PresenceConfig
}

// Defaults returns the configuration with every default filled in.
func Defaults() Config {
	return Config{
		Domains:                []string{"localhost"},
		UDP:                    ":5060",
		TCP:                    ":5060",
		TLS:                    ":5061",
		MaxMessageSize:         65535,
		LoginFailuresPerMinute: 10,
		ConnectionsPerIP:       64,
		RequestsPerSecond:      50,
		RequestBurst:           100,
		MinExpires:             60 * time.Second,
		MaxExpires:             7200 * time.Second,
		DefaultExpires:         3600 * time.Second,
		NonceTTL:               5 * time.Minute,
		MaxBindingsPerAOR:      32,
		SweepInterval:          5 * time.Second,
		DeliveryTimeout:        32 * time.Second,
		MailboxCount:           1024,
		MailboxBytes:           4 << 20,
		SendWindow:             128,
		BindingWriteDelay:      10 * time.Millisecond,
		CredentialCacheTTL:     2 * time.Second,
		MaxInFlight:            256,
		UDPReadBuffer:          4 << 20,
		UDPQueueDelayLimit:     100 * time.Millisecond,
		UserAgent:              "Crosstalk",
		DigestAlgorithms:       []string{"SHA-256", "MD5"},
	}
}

// withDefaults fills zero fields from Defaults (listen addresses excepted:
// empty means disabled).
func (c Config) withDefaults() Config {
	d := Defaults()
	if len(c.Domains) == 0 {
		c.Domains = d.Domains
	}
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&c.MaxMessageSize, d.MaxMessageSize)
	setInt(&c.LoginFailuresPerMinute, d.LoginFailuresPerMinute)
	setInt(&c.RequestBurst, d.RequestBurst)
	setInt(&c.ConnectionsPerIP, d.ConnectionsPerIP)
	setInt(&c.MaxBindingsPerAOR, d.MaxBindingsPerAOR)
	setInt(&c.MailboxCount, d.MailboxCount)
	setInt(&c.MailboxBytes, d.MailboxBytes)
	setInt(&c.SendWindow, d.SendWindow)
	setInt(&c.MaxInFlight, d.MaxInFlight)
	setInt(&c.UDPReadBuffer, d.UDPReadBuffer)
	setDur(&c.UDPQueueDelayLimit, d.UDPQueueDelayLimit)
	setDur(&c.BindingWriteDelay, d.BindingWriteDelay)
	setDur(&c.CredentialCacheTTL, d.CredentialCacheTTL)
	if c.RequestsPerSecond == 0 {
		c.RequestsPerSecond = d.RequestsPerSecond
	}
	setDur(&c.MinExpires, d.MinExpires)
	setDur(&c.MaxExpires, d.MaxExpires)
	setDur(&c.DefaultExpires, d.DefaultExpires)
	setDur(&c.NonceTTL, d.NonceTTL)
	setDur(&c.SweepInterval, d.SweepInterval)
	setDur(&c.DeliveryTimeout, d.DeliveryTimeout)
	if c.UserAgent == "" {
		c.UserAgent = d.UserAgent
	}
	if len(c.DigestAlgorithms) == 0 {
		c.DigestAlgorithms = d.DigestAlgorithms
	}
	return c
}

// Validate reports every problem of the configuration (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	for name, addr := range map[string]string{"udp": c.UDP, "tcp": c.TCP, "tls": c.TLS} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("sip %s listener %q: %w", name, addr, err))
		}
	}
	if c.UDP == "" && c.TCP == "" && c.TLS == "" && !c.WebSocket {
		errs = append(errs, errors.New("sip: no listener configured"))
	}
	if c.TLS != "" && c.TLSConfig == nil {
		errs = append(errs, errors.New("sip: a TLS listener needs a TLS configuration"))
	}
	if c.MaxMessageSize < 1500 {
		errs = append(errs, fmt.Errorf("sip: max message size %d below 1500 bytes", c.MaxMessageSize))
	}
	if c.LoginFailuresPerMinute < 1 || c.ConnectionsPerIP < 1 || c.MaxBindingsPerAOR < 1 || c.RequestBurst < 1 || c.RequestsPerSecond <= 0 || c.MailboxCount < 1 || c.MailboxBytes < 1 || c.SendWindow < 1 || c.MaxInFlight < 1 || c.BindingWriteDelay <= 0 {
		errs = append(errs, errors.New("sip: limits must be positive"))
	}
	if c.MinExpires < time.Second || c.MaxExpires < c.MinExpires || c.DefaultExpires < c.MinExpires || c.DefaultExpires > c.MaxExpires {
		errs = append(errs, errors.New("sip: need 1s ≤ min expires ≤ default expires ≤ max expires"))
	}
	for _, a := range c.DigestAlgorithms {
		if a != "SHA-256" && a != "MD5" {
			errs = append(errs, fmt.Errorf("sip: digest algorithm %q: only SHA-256 and MD5", a))
		}
	}
	for _, d := range c.Domains {
		if d == "" {
			errs = append(errs, errors.New("sip: empty domain"))
		}
	}
	return errors.Join(errs...)
}
