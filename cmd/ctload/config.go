package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
)

// Scenario names.
const (
	scXMPPLogin    = "xmpp-login"
	scXMPPTLS      = "xmpp-tls"
	scXMPPChat     = "xmpp-chat"
	scXMPPIdle     = "xmpp-idle"
	scXMPPPresence = "xmpp-presence"
	scSIPRegister  = "sip-register"
	scSIPMessage   = "sip-message"
	scMUC          = "muc"
	scCross        = "cross"
)

// scenarios lists every scenario name in usage order.
var scenarios = []string{scXMPPLogin, scXMPPTLS, scXMPPChat, scXMPPIdle, scXMPPPresence, scMUC, scSIPRegister, scSIPMessage, scCross}

// errUsage marks a command line error (exit status 2).
var errUsage = errors.New("usage")

// config is one run's parsed and checked command line.
type config struct {
	Scenario string

	XMPPAddr string // as given
	SIPAddr  string
	xmpp     netip.AddrPort // checked loopback targets
	sip      netip.AddrPort

	Domain     string
	CAFile     string
	Insecure   bool
	User       string // pattern with %d, "@domain" appended when missing
	Password   string // may hold %d too
	First      int
	Accounts   int
	Count      int
	Concurrent int
	Duration   time.Duration
	Rate       float64
	Timeout    time.Duration
	Hold       time.Duration
	BodySize   int
	Contacts   int
	Subscribe  bool
	SourceSpec string
	// muc: the room service host, the room's local part, how many
	// occupants join, fan-out rounds, busy-room senders and duration.
	MUCHost   string
	Room      string
	Occupants int
	Fanout    int
	Senders   int
	Busy      time.Duration
	// SIPTransport is udp, tcp or tls.
	SIPTransport string
	sources      []netip.Addr
	PID          int
	JSONFile     string
	// CPUProfile is where to write ctload's own CPU profile, if set.
	CPUProfile string
	Smoke      bool
	Quiet      bool
	// SASL2 makes xmpp-login log in with XEP-0388 SASL2 and XEP-0386
	// Bind 2 instead of RFC 6120 SASL and bind.
	SASL2 bool
	// Fast (implies SASL2) logs in with a XEP-0484 FAST token once the
	// account has one.
	Fast bool
	// DirectTLS makes xmpp-login and xmpp-tls open TLS at once on -xmpp (XEP-0368)
	// instead of negotiating STARTTLS.
	DirectTLS bool
	// TLSResume makes xmpp-login keep TLS 1.3 session tickets and resume
	// with them (RFC 8446 §2.2: PSK with (EC)DHE, no certificate sent or
	// verified again).
	TLSResume bool
	// Warmup makes xmpp-login log in once per account before the
	// measured phase.
	Warmup bool
	// Quickstart (implies SASL2) sends the <authenticate/> right behind
	// the stream header, without waiting for the stream features, once a
	// login has found SASL2 and Bind 2 offered.
	Quickstart bool
	// TLSGroups is -tls-groups as given; groups the key exchanges the
	// client offers (nil: crypto/tls's defaults).
	TLSGroups string
	groups    []tls.CurveID
}

// Smoke-mode bounds: a few seconds with small numbers.
const (
	smokeCount      = 20
	smokeConcurrent = 4
	smokeDuration   = 3 * time.Second
	smokeHold       = time.Second
	smokeOccupants  = 8
	smokeFanout     = 5
	smokeBusy       = 2 * time.Second
)

// Upper bounds on what one run may ask for.
const (
	maxCount      = 10_000_000
	maxConcurrent = 100_000
	maxDuration   = time.Hour
)

// parseConfig parses the command line: flags, then the scenario, then more
// flags. Usage goes to w.
func parseConfig(args []string, w io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("ctload", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.StringVar(&c.XMPPAddr, "xmpp", "127.0.0.1:5222", "XMPP c2s `host:port` (STARTTLS), loopback only")
	fs.StringVar(&c.SIPAddr, "sip", "127.0.0.1:5060", "SIP `host:port` of the registrar/proxy (UDP, TCP or TLS: -sip-transport), loopback only")
	fs.StringVar(&c.Domain, "domain", "localhost", "the server's domain (XMPP domain, SIP domain and digest realm)")
	fs.StringVar(&c.CAFile, "ca", "", "PEM `file` of the CA (or self-signed certificate) to verify the XMPP server against")
	fs.BoolVar(&c.Insecure, "insecure", false, "do not verify the XMPP server's certificate (self-signed test servers)")
	fs.StringVar(&c.User, "user", "user%d", "account `pattern`: %d is the account number; @domain is appended when missing")
	fs.StringVar(&c.Password, "password", "secret", "account password (%d is replaced by the account number)")
	fs.IntVar(&c.First, "first", 1, "number of the first account")
	fs.IntVar(&c.Accounts, "accounts", 10, "how many accounts exist (numbered from -first); operations cycle over them")
	fs.IntVar(&c.Count, "n", 1000, "operations (logins, messages, registrations) or sessions (xmpp-idle) in all")
	fs.IntVar(&c.Concurrent, "c", 10, "concurrency: workers, pairs (chat, message) or parallel logins (idle)")
	fs.DurationVar(&c.Duration, "d", 60*time.Second, "time bound of the whole run")
	fs.Float64Var(&c.Rate, "rate", 0, "offered operations per second in all (0: as fast as the workers go)")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "time bound of one operation")
	fs.DurationVar(&c.Hold, "hold", 5*time.Second, "xmpp-idle: how long to hold the sessions once all are up")
	fs.IntVar(&c.BodySize, "size", 100, "message body size in bytes")
	fs.BoolVar(&c.Subscribe, "subscribe", true, "xmpp-presence: subscribe within each group first (false: the rosters are provisioned already)")
	fs.IntVar(&c.Contacts, "contacts", 20, "xmpp-presence: contacts per roster (sessions form full-mesh groups of contacts+1)")
	fs.StringVar(&c.MUCHost, "muc", "", "muc: the room service `host` (default conference.DOMAIN)")
	fs.StringVar(&c.Room, "room", "ctload", "muc: the room's local part")
	fs.IntVar(&c.Occupants, "occupants", 500, "muc: occupants that join the room (one account each)")
	fs.IntVar(&c.Fanout, "fanout", 20, "muc: fan-out rounds, one message each into the full room")
	fs.IntVar(&c.Senders, "senders", 10, "muc: occupants sending in the busy-room phase")
	fs.DurationVar(&c.Busy, "busy", 10*time.Second, "muc: how long the busy-room phase sends (at most -n messages, paced by -rate)")
	fs.StringVar(&c.SIPTransport, "sip-transport", "udp", "SIP transport to the server: udp, tcp or tls (tls verifies against -ca, or -insecure)")
	fs.StringVar(&c.SourceSpec, "src", "", "source `addresses` to spread connections over: list or range, e.g. 127.0.0.2-127.0.0.200")
	fs.IntVar(&c.PID, "pid", 0, "server process id: report its CPU time per operation and RSS (from /proc)")
	fs.StringVar(&c.JSONFile, "json", "", "write the result as JSON to `file`")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write ctload's own CPU profile to `file` (go tool pprof)")
	fs.BoolVar(&c.Smoke, "smoke", false, fmt.Sprintf("smoke run: at most %d operations, %d workers, %s", smokeCount, smokeConcurrent, smokeDuration))
	fs.BoolVar(&c.Quiet, "q", false, "do not print the table")
	fs.BoolVar(&c.Fast, "fast", false, "xmpp-login: as -sasl2, and log in with a FAST token (XEP-0484, HT-SHA-256-NONE) once the account has one (its first login: SCRAM asking for one)")
	fs.BoolVar(&c.Warmup, "warmup", true, "xmpp-login: first log in once per account (at most -n) in a \"warm-up\" phase, not counted: each client's first login, which fills what it keeps between logins (SaltedPassword, TLS tickets, FAST tokens)")
	fs.BoolVar(&c.Quickstart, "quickstart", false, "xmpp-login: as -sasl2, and once a login has found SASL2 offered send the <authenticate/> right behind the stream header, without waiting for the features (a client that knows the server from its last login)")
	fs.BoolVar(&c.DirectTLS, "direct-tls", false, "xmpp-login, xmpp-tls: -xmpp is a direct TLS port (XEP-0368): TLS at once, no STARTTLS")
	fs.BoolVar(&c.TLSResume, "tls-resume", false, "xmpp-login: keep TLS session tickets and resume with them (a client's reconnection); the first login of each account is a full handshake")
	fs.StringVar(&c.TLSGroups, "tls-groups", "", "key exchanges the TLS client offers, in order: `list` of x25519, p256, p384, x25519mlkem768 (default: Go's, which offers X25519MLKEM768 first)")
	fs.BoolVar(&c.SASL2, "sasl2", false, "xmpp-login: log in with SASL2 (XEP-0388) and Bind 2 (XEP-0386): no stream restart after authentication, no bind IQ")
	fs.Usage = func() {
		fmt.Fprintf(w, "usage: ctload [flags] SCENARIO [flags]\nscenarios: %s\n", strings.Join(scenarios, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		c.Scenario = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		if fs.NArg() > 0 {
			return nil, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
		}
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	return c, nil
}

// check validates the configuration, applies smoke mode and enforces the
// loopback rule on every address.
func (c *config) check() error {
	known := false
	for _, s := range scenarios {
		known = known || s == c.Scenario
	}
	if !known {
		return fmt.Errorf("scenario %q: want one of %s", c.Scenario, strings.Join(scenarios, ", "))
	}
	if c.Smoke {
		c.Count = min(c.Count, smokeCount)
		c.Concurrent = min(c.Concurrent, smokeConcurrent)
		c.Duration = min(c.Duration, smokeDuration)
		c.Hold = min(c.Hold, smokeHold)
		c.Occupants = min(c.Occupants, smokeOccupants)
		c.Fanout = min(c.Fanout, smokeFanout)
		c.Senders = min(c.Senders, c.Occupants)
		c.Busy = min(c.Busy, smokeBusy)
	}
	if c.Fast || c.Quickstart {
		c.SASL2 = true
	}
	if c.MUCHost == "" {
		c.MUCHost = "conference." + c.Domain
	}
	var err error
	if c.xmpp, err = loopbackAddr(c.XMPPAddr); err != nil {
		return fmt.Errorf("-xmpp: %w", err)
	}
	if c.sip, err = loopbackAddr(c.SIPAddr); err != nil {
		return fmt.Errorf("-sip: %w", err)
	}
	if c.sources, err = parseSources(c.SourceSpec); err != nil {
		return fmt.Errorf("-src: %w", err)
	}
	if c.groups, err = parseGroups(c.TLSGroups); err != nil {
		return fmt.Errorf("-tls-groups: %w", err)
	}
	if c.DirectTLS && c.Scenario != scXMPPLogin && c.Scenario != scXMPPTLS {
		return fmt.Errorf("-direct-tls is for %s and %s only", scXMPPLogin, scXMPPTLS)
	}
	if c.TLSResume && c.Scenario != scXMPPLogin {
		return fmt.Errorf("-tls-resume is for %s only", scXMPPLogin)
	}
	switch {
	case c.Domain == "" || strings.ContainsAny(c.Domain, "@/ "):
		return fmt.Errorf("-domain %q: want a bare domain", c.Domain)
	case strings.Count(c.User, "%d") != 1 || strings.Count(c.User, "%") != 1:
		return fmt.Errorf("-user %q: want exactly one %%d and no other %%", c.User)
	case strings.Count(c.Password, "%") > 0 && (strings.Count(c.Password, "%d") != 1 || strings.Count(c.Password, "%") != 1):
		return fmt.Errorf("-password: at most one %%d and no other %%")
	case c.Count < 1 || c.Count > maxCount:
		return fmt.Errorf("-n %d: want 1..%d", c.Count, maxCount)
	case c.Concurrent < 1 || c.Concurrent > maxConcurrent:
		return fmt.Errorf("-c %d: want 1..%d", c.Concurrent, maxConcurrent)
	case c.Duration <= 0 || c.Duration > maxDuration:
		return fmt.Errorf("-d %s: want more than 0 and at most %s", c.Duration, maxDuration)
	case c.Timeout <= 0 || c.Timeout > maxDuration:
		return fmt.Errorf("-timeout %s: want more than 0 and at most %s", c.Timeout, maxDuration)
	case c.Hold < 0 || c.Hold > maxDuration:
		return fmt.Errorf("-hold %s: want 0..%s", c.Hold, maxDuration)
	case c.Rate < 0:
		return fmt.Errorf("-rate %g: want 0 or more", c.Rate)
	case c.Accounts < 1 || c.Accounts > maxCount:
		return fmt.Errorf("-accounts %d: want 1..%d", c.Accounts, maxCount)
	case c.First < 0:
		return fmt.Errorf("-first %d: want 0 or more", c.First)
	case c.BodySize < 1 || c.BodySize > 60_000:
		return fmt.Errorf("-size %d: want 1..60000", c.BodySize)
	case c.Contacts < 1 || c.Contacts > 1000:
		return fmt.Errorf("-contacts %d: want 1..1000", c.Contacts)
	case c.PID < 0:
		return fmt.Errorf("-pid %d", c.PID)
	case c.MUCHost == "" || strings.ContainsAny(c.MUCHost, "@/ ") || c.Room == "" || strings.ContainsAny(c.Room, "@/ "):
		return fmt.Errorf("-muc %q, -room %q: want a bare host and a bare local part", c.MUCHost, c.Room)
	case c.Occupants < 2 || c.Occupants > maxConcurrent:
		return fmt.Errorf("-occupants %d: want 2..%d", c.Occupants, maxConcurrent)
	case c.Fanout < 0 || c.Fanout > maxCount:
		return fmt.Errorf("-fanout %d: want 0..%d", c.Fanout, maxCount)
	case c.Senders < 1 || c.Senders > c.Occupants:
		return fmt.Errorf("-senders %d: want 1..-occupants (%d)", c.Senders, c.Occupants)
	case c.Busy < 0 || c.Busy > maxDuration:
		return fmt.Errorf("-busy %s: want 0..%s", c.Busy, maxDuration)
	case c.SIPTransport != "udp" && c.SIPTransport != "tcp" && c.SIPTransport != "tls":
		return fmt.Errorf("-sip-transport %q: want udp, tcp or tls", c.SIPTransport)
	case c.CAFile != "" && c.Insecure:
		return errors.New("-ca and -insecure exclude each other")
	}
	if (c.Scenario == scXMPPChat || c.Scenario == scSIPMessage || c.Scenario == scCross) && c.Accounts < 2*c.Concurrent {
		return fmt.Errorf("%s uses two accounts per pair: -accounts %d is fewer than 2 × -c %d", c.Scenario, c.Accounts, c.Concurrent)
	}
	if c.Scenario == scMUC && c.Accounts < c.Occupants {
		return fmt.Errorf("%s joins one account per occupant: -accounts %d is fewer than -occupants %d", c.Scenario, c.Accounts, c.Occupants)
	}
	if c.Scenario == scXMPPPresence && c.Accounts < c.Contacts+1 {
		return fmt.Errorf("%s needs groups of -contacts+1 accounts: -accounts %d is fewer than %d", c.Scenario, c.Accounts, c.Contacts+1)
	}
	return nil
}

// account is one numbered account.
type account struct {
	Local, Domain, Password string
}

// Addr returns local@domain.
func (a account) Addr() string { return a.Local + "@" + a.Domain }

// account returns the i-th account (0-based, cycling over -accounts).
func (c *config) account(i int) account {
	n := c.First + i%c.Accounts
	u := fmt.Sprintf(c.User, n)
	local, domain, ok := strings.Cut(u, "@")
	if !ok {
		domain = c.Domain
	}
	pw := c.Password
	if strings.Contains(pw, "%d") {
		pw = fmt.Sprintf(pw, n)
	}
	return account{Local: local, Domain: domain, Password: pw}
}

// source returns the i-th source address (cycling), or the zero Addr.
func (c *config) source(i int) netip.Addr {
	if len(c.sources) == 0 {
		return netip.Addr{}
	}
	return c.sources[i%len(c.sources)]
}

// tlsConfig returns the client TLS configuration for the XMPP server.
func (c *config) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: c.Domain, MinVersion: tls.VersionTLS12, CurvePreferences: c.groups}
	if c.TLSResume {
		// crypto/tls keys its cache by server name, which every login
		// shares: a login resumes with the ticket of the latest login
		// before it. The server's work does not depend on whose ticket it
		// is (tickets are stateless, RFC 5077 §3 as RFC 8446 §4.6.1).
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	}
	switch {
	case c.Insecure:
		cfg.InsecureSkipVerify = true // #nosec G402 -- asked for with -insecure, for self-signed test servers
	case c.CAFile != "":
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca %s: no PEM certificate", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// tlsGroupNames maps -tls-groups names to crypto/tls's key exchanges.
var tlsGroupNames = map[string]tls.CurveID{
	"x25519":         tls.X25519,
	"p256":           tls.CurveP256,
	"p384":           tls.CurveP384,
	"x25519mlkem768": tls.X25519MLKEM768,
}

// parseGroups parses -tls-groups: a comma-separated list of key exchange
// names, without repeats; "" is nil (crypto/tls's defaults).
func parseGroups(spec string) ([]tls.CurveID, error) {
	if spec == "" {
		return nil, nil
	}
	var out []tls.CurveID
	for name := range strings.SplitSeq(spec, ",") {
		id, ok := tlsGroupNames[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return nil, fmt.Errorf("%q: want x25519, p256, p384 or x25519mlkem768", name)
		}
		if slices.Contains(out, id) {
			return nil, fmt.Errorf("%q given twice", name)
		}
		out = append(out, id)
	}
	return out, nil
}
