package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
)

// Config is the whole server configuration: one TOML file, decoded strictly,
// overridden by CROSSTALK_* environment variables and then by flags.
type Config struct {
	// Domains are the domains served. Default ["localhost"].
	Domains []string `toml:"domains"`
	// DataDir keeps the SQLite store, the generated certificate and the
	// kept secrets (occupant-id.key, fast.key). Default "./data".
	DataDir string `toml:"data_dir"`
	// Store selects the store.
	Store StoreConfig `toml:"store"`
	// TLS names certificate files; empty means a generated self-signed one.
	TLS TLSConfig `toml:"tls"`
	// Listen holds each listener's address; empty disables it.
	Listen ListenConfig `toml:"listen"`
	// Limits bound what one client may send.
	Limits LimitsConfig `toml:"limits"`
	// Log configures logging.
	Log LogConfig `toml:"log"`
	// SIP tunes the SIP frontend (serve_sip.go).
	SIP SIPConfig `toml:"sip"`
	// SCRAMIterations is the PBKDF2 iteration count for new passwords. Default 4096, at least 4096.
	SCRAMIterations int `toml:"scram_iterations"`
	// Archive keeps one-to-one messages in the users' archives (XEP-0313). Default true.
	Archive bool `toml:"archive"`
	// Rooms configures the room service at conference.<domain>.
	Rooms RoomsConfig `toml:"rooms"`
	// OperatorAllow lists the networks (CIDR) allowed to read /healthz and /metrics. Default loopback.
	OperatorAllow []string `toml:"operator_allow"`
	// Components are the external components (XEP-0114) that may connect to
	// listen.xmpp_component; with none, that listener is not started.
	Components []ComponentConfig `toml:"components"`
}

// ComponentConfig is one external component (XEP-0114): a subdomain and
// its shared secret. String never shows the secret.
type ComponentConfig struct {
	// Domain is the component's domain (gateway.example.com).
	Domain string `toml:"domain"`
	// Secret is the handshake's shared secret, at least 16 characters.
	Secret string `toml:"secret"`
}

// String returns the domain only.
func (c ComponentConfig) String() string { return c.Domain }

// GoString redacts the secret for %#v.
func (c ComponentConfig) GoString() string {
	return "ComponentConfig{Domain: " + strconv.Quote(c.Domain) + ", Secret: <redacted>}"
}

// minComponentSecret is the shortest component secret accepted: the
// handshake is a plain SHA-1 over the stream id and the secret, so a short
// secret falls to an offline guess from one captured handshake.
const minComponentSecret = 16

// RoomsConfig configures the room service (XEP-0045 and SIP occupants).
type RoomsConfig struct {
	// LockNew keeps a room an XMPP client creates by joining locked until its
	// owner configures it or accepts it as an instant room (XEP-0045
	// §10.1). Default false: a new room is usable at once.
	LockNew bool `toml:"lock_new"`
}

// StoreConfig selects the store.
type StoreConfig struct {
	// URL is "" for the embedded SQLite store in DataDir, or a postgres:// URL.
	URL string `toml:"url"`
}

// TLSConfig names certificate files and the key exchanges offered.
type TLSConfig struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// PostQuantum keeps the hybrid post-quantum key exchange
	// (X25519MLKEM768) on; false leaves X25519 and the NIST curves
	// (cheaper handshakes, see tlscert.ClassicKeyExchange). Default true.
	PostQuantum bool `toml:"post_quantum"`
}

// ListenConfig holds listener addresses (host:port).
type ListenConfig struct {
	XMPPClient    string `toml:"xmpp_c2s"`
	XMPPDirectTLS string `toml:"xmpp_tls"`
	XMPPServer    string `toml:"xmpp_s2s"`
	// XMPPComponent is the XEP-0114 component listener, started only when
	// components are configured. Default 127.0.0.1:5275 (loopback: the
	// protocol has no TLS).
	XMPPComponent string `toml:"xmpp_component"`
	SIPUDP        string `toml:"sip_udp"`
	SIPTCP        string `toml:"sip_tcp"`
	SIPTLS        string `toml:"sip_tls"`
	HTTPS         string `toml:"https"`
}

// LimitsConfig bounds what clients may send.
type LimitsConfig struct {
	// StanzaSize is the largest XMPP stanza in bytes. Default 262144.
	StanzaSize int `toml:"stanza_size"`
	// SIPMessageSize is the largest SIP message in bytes. Default 65535.
	SIPMessageSize int `toml:"sip_message_size"`
	// ConnectionsPerIP is the most concurrent connections from one address. Default 64.
	ConnectionsPerIP int `toml:"connections_per_ip"`
	// LoginFailuresPerMinute is how many failed logins an address or account may make per minute. Default 10.
	LoginFailuresPerMinute int `toml:"login_failures_per_minute"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is trace, debug, info, warn or error. Default "info".
	Level string `toml:"level"`
	// Format is auto (pretty on a terminal, JSON otherwise), json or pretty. Default "auto".
	Format string `toml:"format"`
}

// Defaults returns the configuration used with no file: domain localhost on
// the standard ports, data in ./data.
func Defaults() Config {
	return Config{
		Domains: []string{"localhost"},
		DataDir: "data",
		Listen: ListenConfig{
			XMPPClient: ":5222", XMPPDirectTLS: ":5223", XMPPServer: ":5269", XMPPComponent: "127.0.0.1:5275",
			SIPUDP: ":5060", SIPTCP: ":5060", SIPTLS: ":5061", HTTPS: ":8443",
		},
		Limits:          LimitsConfig{StanzaSize: 256 << 10, SIPMessageSize: 65535, ConnectionsPerIP: 64, LoginFailuresPerMinute: 10},
		Log:             LogConfig{Level: "info", Format: "auto"},
		TLS:             TLSConfig{PostQuantum: true},
		SCRAMIterations: crosstalk.MinSCRAMIterations,
		Archive:         true,
	}
}

// loadFile decodes a TOML file over c; unknown keys are errors.
func (c *Config) loadFile(path string) error {
	md, err := toml.DecodeFile(path, c)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("config %s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	return nil
}

// envVars maps CROSSTALK_* variables to what they set.
var envVars = []struct {
	name string
	set  func(c *Config, v string) error
}{
	{"CROSSTALK_DOMAINS", func(c *Config, v string) error { c.Domains = splitList(v); return nil }},
	{"CROSSTALK_DATA", func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"CROSSTALK_STORE_URL", func(c *Config, v string) error { c.Store.URL = v; return nil }},
	{"CROSSTALK_CERT_FILE", func(c *Config, v string) error { c.TLS.CertFile = v; return nil }},
	{"CROSSTALK_KEY_FILE", func(c *Config, v string) error { c.TLS.KeyFile = v; return nil }},
	{"CROSSTALK_HTTPS_ADDR", func(c *Config, v string) error { c.Listen.HTTPS = v; return nil }},
	{"CROSSTALK_XMPP_C2S_ADDR", func(c *Config, v string) error { c.Listen.XMPPClient = v; return nil }},
	{"CROSSTALK_XMPP_TLS_ADDR", func(c *Config, v string) error { c.Listen.XMPPDirectTLS = v; return nil }},
	{"CROSSTALK_XMPP_S2S_ADDR", func(c *Config, v string) error { c.Listen.XMPPServer = v; return nil }},
	{"CROSSTALK_XMPP_COMPONENT_ADDR", func(c *Config, v string) error { c.Listen.XMPPComponent = v; return nil }},
	{"CROSSTALK_SIP_UDP_ADDR", func(c *Config, v string) error { c.Listen.SIPUDP = v; return nil }},
	{"CROSSTALK_SIP_TCP_ADDR", func(c *Config, v string) error { c.Listen.SIPTCP = v; return nil }},
	{"CROSSTALK_SIP_TLS_ADDR", func(c *Config, v string) error { c.Listen.SIPTLS = v; return nil }},
	{"CROSSTALK_STANZA_SIZE", intVar(func(c *Config) *int { return &c.Limits.StanzaSize })},
	{"CROSSTALK_SIP_MESSAGE_SIZE", intVar(func(c *Config) *int { return &c.Limits.SIPMessageSize })},
	{"CROSSTALK_CONNECTIONS_PER_IP", intVar(func(c *Config) *int { return &c.Limits.ConnectionsPerIP })},
	{"CROSSTALK_LOGIN_FAILURES_PER_MINUTE", intVar(func(c *Config) *int { return &c.Limits.LoginFailuresPerMinute })},
	{"CROSSTALK_LOG_LEVEL", func(c *Config, v string) error { c.Log.Level = v; return nil }},
	{"CROSSTALK_LOG_FORMAT", func(c *Config, v string) error { c.Log.Format = v; return nil }},
	{"CROSSTALK_SCRAM_ITERATIONS", intVar(func(c *Config) *int { return &c.SCRAMIterations })},
}

// intVar sets an integer field from a variable.
func intVar(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*field(c) = n
		return nil
	}
}

func (c *Config) applyEnv(getenv func(string) string) error {
	for _, e := range envVars {
		if v := getenv(e.name); v != "" {
			if err := e.set(c, v); err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
		}
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Validate checks the configuration and normalises the domains.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Domains) == 0 {
		errs = append(errs, errors.New("domains: at least one domain is needed"))
	}
	for i, d := range c.Domains {
		a, err := crosstalk.ParseAddress(d)
		if err != nil || a.Local() != "" || a.Resource() != "" {
			errs = append(errs, fmt.Errorf("domains: %q is not a domain", d))
			continue
		}
		c.Domains[i] = a.Domain()
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	if u := c.Store.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		errs = append(errs, errors.New("store.url: must be empty (SQLite) or a postgres:// URL"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert_file and key_file go together"))
	}
	for name, addr := range map[string]string{
		"xmpp_c2s": c.Listen.XMPPClient, "xmpp_tls": c.Listen.XMPPDirectTLS, "xmpp_s2s": c.Listen.XMPPServer, "xmpp_component": c.Listen.XMPPComponent,
		"sip_udp": c.Listen.SIPUDP, "sip_tcp": c.Listen.SIPTCP, "sip_tls": c.Listen.SIPTLS, "https": c.Listen.HTTPS,
	} {
		if addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("listen.%s: %q is not host:port", name, addr))
		}
	}
	if c.Limits.StanzaSize < 10000 {
		errs = append(errs, errors.New("limits.stanza_size: RFC 6120 §13.12 needs at least 10000 bytes"))
	}
	if c.Limits.SIPMessageSize < 1500 {
		errs = append(errs, errors.New("limits.sip_message_size: at least 1500 bytes"))
	}
	if c.Limits.ConnectionsPerIP < 1 || c.Limits.LoginFailuresPerMinute < 1 {
		errs = append(errs, errors.New("limits: connections_per_ip and login_failures_per_minute must be positive"))
	}
	if _, err := zerolog.ParseLevel(c.Log.Level); err != nil || c.Log.Level == "" {
		errs = append(errs, fmt.Errorf("log.level: %q is not trace, debug, info, warn or error", c.Log.Level))
	}
	if !slices.Contains([]string{"auto", "json", "pretty"}, c.Log.Format) {
		errs = append(errs, fmt.Errorf("log.format: %q is not auto, json or pretty", c.Log.Format))
	}
	if c.SCRAMIterations < crosstalk.MinSCRAMIterations {
		errs = append(errs, fmt.Errorf("scram_iterations: at least %d", crosstalk.MinSCRAMIterations))
	}
	if _, err := c.operatorPrefixes(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateComponents()...)
	return errors.Join(errs...)
}

// validateComponents checks the XEP-0114 components: a domain that is not
// ours nor a room service, configured once, with a long enough secret.
func (c *Config) validateComponents() []error {
	var errs []error
	seen := map[string]bool{}
	for i, comp := range c.Components {
		a, err := crosstalk.ParseAddress(comp.Domain)
		if err != nil || a.Local() != "" || a.Resource() != "" {
			errs = append(errs, fmt.Errorf("components: %q is not a domain", comp.Domain))
			continue
		}
		d := a.Domain()
		c.Components[i].Domain = d
		switch {
		case c.serves(d) || strings.HasPrefix(d, "conference.") && c.serves(strings.TrimPrefix(d, "conference.")):
			errs = append(errs, fmt.Errorf("components: %s is served here already", d))
		case seen[d]:
			errs = append(errs, fmt.Errorf("components: %s is configured twice", d))
		}
		seen[d] = true
		if len(comp.Secret) < minComponentSecret {
			errs = append(errs, fmt.Errorf("components: the secret of %s needs at least %d characters", d, minComponentSecret))
		}
	}
	return errs
}

// componentDomains returns the domains of the configured components.
func (c *Config) componentDomains() []string {
	out := make([]string, len(c.Components))
	for i, comp := range c.Components {
		out[i] = comp.Domain
	}
	return out
}

func (c *Config) operatorPrefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(c.OperatorAllow))
	for _, s := range c.OperatorAllow {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("operator_allow: %q is not a CIDR prefix", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// storePath is where the SQLite store lives.
func (c *Config) storePath() string { return filepath.Join(c.DataDir, "crosstalk.db") }

// serves reports whether a domain is one of ours.
func (c *Config) serves(domain string) bool { return slices.Contains(c.Domains, domain) }

// buildConfig builds the configuration from defaults, an optional
// file, the environment, then flag overrides.
func buildConfig(file string, getenv func(string) string, flags func(*Config)) (Config, error) {
	c := Defaults()
	if file == "" {
		file = getenv("CROSSTALK_CONFIG")
	}
	if file != "" {
		if _, err := os.Stat(file); err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := c.loadFile(file); err != nil {
			return Config{}, err
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return Config{}, err
	}
	flags(&c)
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
