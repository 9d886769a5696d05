package xcap

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config configures the XCAP server. The zero value is not usable; start
// from Defaults.
type Config struct {
	// Root is the path the handler is mounted at, without a trailing
	// slash; default "/xcap-root" (RFC 4825 §6.1 calls it the XCAP root).
	Root string
	// RootURI is the absolute XCAP root URI written into documents (the
	// rls-services reference to the buddy list); empty means
	// "https://<Host header><Root>" of each request.
	RootURI string
	// MaxBodyBytes is the largest request body accepted; bigger ones get
	// 413 and change nothing. Default 256 KiB.
	MaxBodyBytes int64
	// NonceTTL is how long a digest nonce stays valid; default 5 minutes.
	NonceTTL time.Duration
	// MaxNonces bounds the outstanding digest nonces; default 100 000.
	MaxNonces int
	// ServiceURI is the template of an account's buddy-list URI in
	// rls-services: {user} and {domain} are replaced. Default
	// "sip:{user}-buddies@{domain}". The SIP presence server must serve the
	// same URI.
	ServiceURI string
	// LoginFailuresPerMinute is how many failed digest logins a source
	// address or an account may have in a minute before it gets 429 until
	// the oldest leaves the minute. Default 10.
	LoginFailuresPerMinute int
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{
		Root:         "/xcap-root",
		MaxBodyBytes: 256 << 10,
		NonceTTL:     5 * time.Minute,
		MaxNonces:    100000,
		ServiceURI:   "sip:{user}-buddies@{domain}",

		LoginFailuresPerMinute: 10,
	}
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Root, "/") || strings.HasSuffix(c.Root, "/") {
		errs = append(errs, fmt.Errorf("xcap root %q: must start with / and not end with one", c.Root))
	}
	if c.RootURI != "" && !strings.HasPrefix(c.RootURI, "https://") && !strings.HasPrefix(c.RootURI, "http://") {
		errs = append(errs, fmt.Errorf("xcap root_uri %q: must be an http(s) URI", c.RootURI))
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		errs = append(errs, fmt.Errorf("xcap max_body_bytes %d: must be between 1 KiB and 64 MiB", c.MaxBodyBytes))
	}
	if c.NonceTTL < 10*time.Second || c.NonceTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("xcap nonce_ttl %s: must be between 10s and 24h", c.NonceTTL))
	}
	if c.MaxNonces < 1 {
		errs = append(errs, fmt.Errorf("xcap max_nonces %d: must be positive", c.MaxNonces))
	}
	if !strings.Contains(c.ServiceURI, "{user}") || !strings.HasPrefix(c.ServiceURI, "sip:") {
		errs = append(errs, fmt.Errorf("xcap service_uri %q: must be a sip: URI template with {user}", c.ServiceURI))
	}
	if c.LoginFailuresPerMinute < 1 {
		errs = append(errs, fmt.Errorf("xcap login_failures_per_minute %d: must be positive", c.LoginFailuresPerMinute))
	}
	return errors.Join(errs...)
}
