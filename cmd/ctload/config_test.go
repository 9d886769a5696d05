package main

import (
	"crypto/tls"
	"errors"
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	c, err := parseConfig([]string{"-xmpp", "127.0.0.2:5222", "xmpp-login", "-n", "50", "-c", "5", "-src", "127.0.0.3-127.0.0.4", "-user", "bob%d@example.org", "-password", "pw%d"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scenario != scXMPPLogin || c.Count != 50 || c.Concurrent != 5 || c.xmpp.String() != "127.0.0.2:5222" {
		t.Errorf("config %+v", c)
	}
	if a := c.account(0); a.Addr() != "bob1@example.org" || a.Password != "pw1" {
		t.Errorf("account 0 = %+v", a)
	}
	if a := c.account(10); a.Local != "bob1" {
		t.Errorf("account 10 = %+v, want to cycle over 10 accounts", a)
	}
	if s := c.source(3); s.String() != "127.0.0.4" {
		t.Errorf("source 3 = %s", s)
	}
	d, err := parseConfig([]string{"-user", "u%d", "sip-register"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if a := d.account(1); a.Addr() != "u2@localhost" || a.Password != "secret" {
		t.Errorf("account 1 = %+v", a)
	}
}

func TestParseConfigSmoke(t *testing.T) {
	c, err := parseConfig([]string{"-smoke", "-n", "100000", "-c", "64", "-d", "1m", "xmpp-idle"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Count != smokeCount || c.Concurrent != smokeConcurrent || c.Duration != smokeDuration || c.Hold != smokeHold {
		t.Errorf("smoke did not bound the run: %+v", c)
	}
	c, err = parseConfig([]string{"-smoke", "-n", "3", "-d", "1s", "xmpp-login"}, io.Discard)
	if err != nil || c.Count != 3 || c.Duration != time.Second {
		t.Errorf("smoke raised smaller bounds: %+v %v", c, err)
	}
}

func TestParseConfigMUCAndTransport(t *testing.T) {
	c, err := parseConfig([]string{"-domain", "example.org", "-accounts", "600", "muc"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MUCHost != "conference.example.org" || c.Room != "ctload" || c.Occupants != 500 || c.SIPTransport != "udp" {
		t.Errorf("defaults %+v", c)
	}
	c, err = parseConfig([]string{"-smoke", "-accounts", "8", "-sip-transport", "tls", "-muc", "muc.localhost", "muc"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MUCHost != "muc.localhost" || c.Occupants != smokeOccupants || c.Fanout != smokeFanout || c.Busy != smokeBusy || c.Senders != smokeOccupants || c.SIPTransport != "tls" {
		t.Errorf("smoke muc %+v", c)
	}
}

func TestParseConfigTLS(t *testing.T) {
	c, err := parseConfig([]string{"-xmpp", "127.0.0.1:5223", "-direct-tls", "-tls-resume", "-tls-groups", "x25519, P256", "xmpp-login"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.tlsConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !c.DirectTLS || cfg.ClientSessionCache == nil || !slices.Equal(cfg.CurvePreferences, []tls.CurveID{tls.X25519, tls.CurveP256}) {
		t.Errorf("config %+v, TLS groups %v, session cache %v", c, cfg.CurvePreferences, cfg.ClientSessionCache)
	}
	d, err := parseConfig([]string{"xmpp-login"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = d.tlsConfig(); err != nil || cfg.CurvePreferences != nil || cfg.ClientSessionCache != nil || d.DirectTLS {
		t.Errorf("defaults: groups %v, session cache %v, direct TLS %v (%v)", cfg.CurvePreferences, cfg.ClientSessionCache, d.DirectTLS, err)
	}
}

func TestParseConfigRefuses(t *testing.T) {
	for i, args := range [][]string{
		0:  {},
		1:  {"nonsense"},
		2:  {"-xmpp", "10.0.0.1:5222", "xmpp-login"},
		3:  {"-sip", "example.com:5060", "sip-register"},
		4:  {"-src", "192.168.0.1", "xmpp-login"},
		5:  {"-n", "0", "xmpp-login"},
		6:  {"-c", "0", "xmpp-login"},
		7:  {"-d", "0s", "xmpp-login"},
		8:  {"-d", "2h", "xmpp-login"},
		9:  {"-user", "nouser", "xmpp-login"},
		10: {"-user", "u%s%d", "xmpp-login"},
		11: {"-rate", "-1", "xmpp-login"},
		12: {"-ca", "x.pem", "-insecure", "xmpp-login"},
		13: {"-c", "10", "-accounts", "10", "xmpp-chat"},
		14: {"xmpp-login", "extra"},
		15: {"-nosuchflag", "xmpp-login"},
		16: {"-xmpp", "[::]:5222", "xmpp-login"},
		17: {"-occupants", "20", "-accounts", "10", "muc"},
		18: {"-occupants", "1", "muc"},
		19: {"-senders", "11", "-occupants", "10", "muc"},
		20: {"-muc", "a@b", "muc"},
		21: {"-sip-transport", "sctp", "sip-register"},
		22: {"-fanout", "-1", "muc"},
		23: {"-tls-groups", "x448", "xmpp-login"},
		24: {"-tls-groups", "x25519,X25519", "xmpp-login"},
		25: {"-direct-tls", "xmpp-chat"},
		27: {"-tls-resume", "xmpp-tls"},
		26: {"-tls-resume", "xmpp-idle"},
	} {
		_, err := parseConfig(args, io.Discard)
		if err == nil {
			t.Errorf("%d: %q accepted", i, args)
		} else if !errors.Is(err, errUsage) {
			t.Errorf("%d: %q: %v is not a usage error", i, args, err)
		}
	}
	_, err := parseConfig([]string{"-xmpp", "10.0.0.1:5222", "xmpp-login"}, io.Discard)
	if !errors.Is(err, errNotLoopback) {
		t.Errorf("non-loopback target: %v, want errNotLoopback", err)
	}
}
