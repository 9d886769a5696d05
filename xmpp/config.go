package xmpp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Config configures the c2s frontend. Start from Defaults, set what
// differs, then call Validate.
type Config struct {
	// Domains are the domains served; a stream to any other gets
	// <host-unknown/>. The first is used when a client names none.
	Domains []string
	// TLS is the server's TLS configuration (certificates, vhost SNI). Nil
	// disables STARTTLS and direct TLS, which RequireTLS forbids.
	TLS *tls.Config
	// RequireTLS makes STARTTLS mandatory before authentication (RFC 6120
	// §5.3.1). Default true.
	RequireTLS bool
	// StanzaSize is the byte budget of one stanza (RFC 6120 §13.12, at
	// least 10000). Default 262144.
	StanzaSize int
	// MaxDepth caps element nesting inside a stream. Default 32.
	MaxDepth int
	// MaxAttrs caps the attributes of one element. Default 64.
	MaxAttrs int
	// ConnectionsPerIP caps concurrent connections from one address.
	// Default 64.
	ConnectionsPerIP int
	// LoginFailuresPerMinute is how many failed logins an address or an
	// account may make per minute before logins are refused. Default 10.
	LoginFailuresPerMinute int
	// HandshakeTimeout bounds the TLS handshake. Default 10s.
	HandshakeTimeout time.Duration
	// AuthTimeout bounds everything from accept to resource binding.
	// Default 60s.
	AuthTimeout time.Duration
	// IdleTimeout closes a bound session that sends nothing, not even
	// white space, for this long (<connection-timeout/>). Default 5m.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to a client; a client that does not
	// read is disconnected. Default 30s.
	WriteTimeout time.Duration
	// ResumeTimeout is how long a session with XEP-0198 resumption outlives
	// its connection; 0 disables resumption. Default 5m.
	ResumeTimeout time.Duration
	// FastTokenLifetime is how long a XEP-0484 FAST token is valid; a
	// token used after half of it is replaced by a new one. 0 disables
	// FAST (not advertised). Default 14 days.
	FastTokenLifetime time.Duration
	// FastKey is the secret FAST tokens are derived from (at least 32
	// bytes): the store keeps a record of each token and the token is
	// recomputed from it with this key, so tokens outlive a restart that
	// keeps the key, and the store alone yields none. Empty: a random key
	// for this process, and a restart invalidates every token.
	// cmd/crosstalk keeps it in the data directory (fast.key).
	FastKey Secret
	// MailboxEvents and MailboxBytes bound a session's outbound queue.
	// Defaults 1024 events and 4 MiB.
	MailboxEvents int
	MailboxBytes  int
	// SoftwareName and SoftwareVersion answer XEP-0092.
	SoftwareName    string
	SoftwareVersion string
	// Components are the external components (XEP-0114) that may connect
	// to ServeComponents, one per domain; the hub must have the same
	// domains as HubConfig.ServiceDomains. None: no component can connect.
	Components []Component
	// ComponentHandshakeFailures is how many failed handshakes an address
	// or a component domain may make per minute before handshakes are
	// refused. Default 5.
	ComponentHandshakeFailures int
}

// Secret is key material that String and GoString never show, so that a
// logged or printed Config does not leak it.
type Secret []byte

// String returns "<redacted>".
func (Secret) String() string { return "<redacted>" }

// GoString returns "<redacted>", for %#v.
func (Secret) GoString() string { return "<redacted>" }

// Component is one external component (XEP-0114): the domain it serves and
// the shared secret of its handshake. String never shows the secret.
type Component struct {
	// Domain is the component's domain (gateway.example.com); it must not
	// be one of Config.Domains.
	Domain string
	// Secret is the shared secret.
	Secret string
}

// String returns the domain; the secret is never printed or logged.
func (c Component) String() string { return c.Domain }

// GoString returns the domain with the secret redacted, for %#v.
func (c Component) GoString() string {
	return "xmpp.Component{Domain: \"" + c.Domain + "\", Secret: <redacted>}"
}

// Defaults returns the documented defaults, serving localhost.
func Defaults() Config {
	return Config{
		Domains:                []string{"localhost"},
		RequireTLS:             true,
		StanzaSize:             256 << 10,
		MaxDepth:               32,
		MaxAttrs:               64,
		ConnectionsPerIP:       64,
		LoginFailuresPerMinute: 10,
		HandshakeTimeout:       10 * time.Second,
		AuthTimeout:            60 * time.Second,
		IdleTimeout:            5 * time.Minute,
		WriteTimeout:           30 * time.Second,
		ResumeTimeout:          5 * time.Minute,
		FastTokenLifetime:      14 * 24 * time.Hour,
		MailboxEvents:          1024,
		MailboxBytes:           4 << 20,
		SoftwareName:           "Crosstalk",

		ComponentHandshakeFailures: 5,
	}
}

// Validate reports every setting out of range.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Domains) == 0 {
		errs = append(errs, errors.New("xmpp: at least one domain"))
	}
	if c.RequireTLS && c.TLS == nil {
		errs = append(errs, errors.New("xmpp: RequireTLS needs a TLS configuration"))
	}
	if c.StanzaSize < 10000 {
		errs = append(errs, fmt.Errorf("xmpp: stanza size %d below the 10000 bytes of RFC 6120 §13.12", c.StanzaSize))
	}
	if c.MaxDepth < 4 || c.MaxAttrs < 8 {
		errs = append(errs, errors.New("xmpp: MaxDepth must be at least 4 and MaxAttrs at least 8"))
	}
	if c.ConnectionsPerIP < 1 || c.LoginFailuresPerMinute < 1 {
		errs = append(errs, errors.New("xmpp: ConnectionsPerIP and LoginFailuresPerMinute must be positive"))
	}
	for name, d := range map[string]time.Duration{"HandshakeTimeout": c.HandshakeTimeout, "AuthTimeout": c.AuthTimeout,
		"IdleTimeout": c.IdleTimeout, "WriteTimeout": c.WriteTimeout} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("xmpp: %s must be positive", name))
		}
	}
	if c.ResumeTimeout < 0 {
		errs = append(errs, errors.New("xmpp: ResumeTimeout must not be negative"))
	}
	if c.FastTokenLifetime < 0 {
		errs = append(errs, errors.New("xmpp: FastTokenLifetime must not be negative"))
	}
	if len(c.FastKey) > 0 && len(c.FastKey) < fastKeyBytes {
		errs = append(errs, fmt.Errorf("xmpp: FastKey of %d bytes, want at least %d", len(c.FastKey), fastKeyBytes))
	}
	if c.MailboxEvents < 1 || c.MailboxBytes < c.StanzaSize {
		errs = append(errs, errors.New("xmpp: MailboxEvents must be positive and MailboxBytes at least StanzaSize"))
	}
	errs = append(errs, c.validateComponents()...)
	return errors.Join(errs...)
}

func (c *Config) validateComponents() []error {
	var errs []error
	if c.ComponentHandshakeFailures < 1 {
		errs = append(errs, errors.New("xmpp: ComponentHandshakeFailures must be positive"))
	}
	seen := map[string]bool{}
	for _, comp := range c.Components {
		switch {
		case comp.Domain == "" || strings.ContainsAny(comp.Domain, "@/ "):
			errs = append(errs, fmt.Errorf("xmpp: component domain %q is not a domain", comp.Domain))
		case slices.Contains(c.Domains, comp.Domain):
			errs = append(errs, fmt.Errorf("xmpp: component domain %s is also a served domain", comp.Domain))
		case seen[comp.Domain]:
			errs = append(errs, fmt.Errorf("xmpp: component domain %s configured twice", comp.Domain))
		}
		seen[comp.Domain] = true
		if comp.Secret == "" {
			errs = append(errs, fmt.Errorf("xmpp: component %s needs a secret", comp.Domain))
		}
	}
	return errs
}
