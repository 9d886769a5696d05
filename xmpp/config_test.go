package xmpp

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	good := Defaults()
	good.TLS = &tls.Config{}
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults with TLS: %v", err)
	}
	bare := Defaults()
	if err := bare.Validate(); err == nil || !strings.Contains(err.Error(), "RequireTLS") {
		t.Fatalf("defaults without TLS: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"domains":     func(c *Config) { c.Domains = nil },
		"stanza size": func(c *Config) { c.StanzaSize = 9999 },
		"depth":       func(c *Config) { c.MaxDepth = 2 },
		"per IP":      func(c *Config) { c.ConnectionsPerIP = 0 },
		"failures":    func(c *Config) { c.LoginFailuresPerMinute = 0 },
		"idle":        func(c *Config) { c.IdleTimeout = 0 },
		"resume":      func(c *Config) { c.ResumeTimeout = -1 },
		"fast":        func(c *Config) { c.FastTokenLifetime = -1 },
		"fast key":    func(c *Config) { c.FastKey = make(Secret, 16) },
		"mailbox":     func(c *Config) { c.MailboxBytes = 100 },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestFastKeyNotPrinted: a printed Config never shows the FAST key.
func TestFastKeyNotPrinted(t *testing.T) {
	c := Defaults()
	c.FastKey = bytes.Repeat([]byte{0xab}, fastKeyBytes)
	out := fmt.Sprintf("%v %+v %#v %s %x %q", c, c, c, c.FastKey, c.FastKey, c.FastKey)
	if strings.Contains(out, hex.EncodeToString(c.FastKey[:4])) || strings.Contains(out, "171 171") || strings.Contains(out, `\xab`) {
		t.Fatalf("the key is printed: %s", out)
	}
	if err := c.Validate(); err != nil && strings.Contains(err.Error(), "FastKey") {
		t.Fatalf("a 32-byte key refused: %v", err)
	}
}
