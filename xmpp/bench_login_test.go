package xmpp

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// BenchmarkLogin measures one whole login as ctload's xmpp-login makes it
// (TCP, STARTTLS, SCRAM-SHA-256, bind, roster get, initial presence, close,
// no TLS resumption), client and server in one process, so that
//
//	go test -run XXX -bench BenchmarkLogin -benchtime 2000x -cpuprofile cpu.out ./xmpp/
//
// profiles the server's side of a login without a load generator. The
// client keeps the SCRAM SaltedPassword, as real clients and ctload do, so
// PBKDF2 does not hide the server's work; ns/op is client and server
// together. The sasl2 variant is ctload's xmpp-login -sasl2: SCRAM in a
// XEP-0388 <authenticate/> with a XEP-0386 Bind 2 request, so neither the
// stream restart nor the bind IQ. The fast variant is ctload's
// xmpp-login -fast in its steady state: a XEP-0484 token already used
// once (HT-SHA-256-NONE) instead of SCRAM, with Bind 2.
func BenchmarkLogin(b *testing.B) {
	b.Run("classic", func(b *testing.B) { benchmarkLogin(b, "classic") })
	b.Run("sasl2", func(b *testing.B) { benchmarkLogin(b, "sasl2") })
	b.Run("fast", func(b *testing.B) { benchmarkLogin(b, "fast") })
}

func benchmarkLogin(b *testing.B, mode string) {
	// As bench/compare.sh: one client address opens every connection, and
	// a session's end (unbind, close) may trail the client's next login.
	ts := startServer(b, func(c *Config) { c.ConnectionsPerIP = 1 << 20 })
	user := ts.user(b, "alice")
	// An account in use has an archive, which Bind 2 reports on (the
	// XEP-0313 metadata in <bound/>).
	for i := range 100 {
		m := crosstalk.ArchivedMessage{With: crosstalk.MustParseAddress("bob@" + testDomain),
			Message: crosstalk.Message{ID: strconv.Itoa(i), From: user, To: crosstalk.MustParseAddress("bob@" + testDomain), Type: crosstalk.MessageChat, Body: "archived", Time: time.Now()}}
		if _, err := ts.store.AppendArchive(context.Background(), user, m); err != nil {
			b.Fatal(err)
		}
	}
	var salted []byte // SaltedPassword, computed at the first login
	var token string
	if mode == "fast" {
		token = ts.requestToken(b, user.Local(), testUserAgent)
		if c, e := ts.fastLogin(b, user.Local(), testUserAgent, token, ""); e.XMLName.Local != "success" {
			b.Fatalf("first token login: %+v", e)
		} else {
			_ = c.conn.Close()
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		var c *client
		if mode == "fast" {
			var e el
			if c, e = ts.fastLogin(b, user.Local(), testUserAgent, token, ""); e.XMLName.Local != "success" {
				b.Fatalf("token login: %+v", e)
			}
		} else {
			c = dialRaw(b, ts.addr)
			c.open()
			c.startTLS(ts.roots)
			c.open()
		}
		switch mode {
		case "fast":
		case "sasl2":
			salted = scramLoginWith(b, c, user.Local(), ts.password, salted,
				"<user-agent id='"+testUserAgent+"'/><bind xmlns='urn:xmpp:bind:0'><tag>bench</tag></bind>")
			if e := c.next(); e.XMLName.Local != "features" {
				b.Fatalf("features after success: %+v", e)
			}
		default:
			salted = scramLogin(b, c, user.Local(), ts.password, salted)
			c.open()
			c.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>")
			if e := c.next(); e.XMLName.Local != "iq" || e.attr("type") != "result" {
				b.Fatalf("bind: %+v", e)
			}
		}
		c.send("<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>")
		if e := c.next(); e.XMLName.Local != "iq" || e.attr("id") != "r" || e.attr("type") != "result" {
			b.Fatalf("roster: %+v", e)
		}
		c.send("<presence/></stream:stream>")
		for { // the server's end of the stream (or a stream error) ends the login
			e, err := c.tryNext()
			if err != nil {
				b.Fatalf("waiting for the end of the stream: %v", err)
			}
			if e.XMLName.Local == "</stream>" {
				break
			}
			if e.XMLName.Local == "error" {
				b.Fatalf("stream error: %+v", e)
			}
		}
		_ = c.conn.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// scramLogin runs SCRAM-SHA-256 without channel binding on c and checks
// the server's signature; salted is the SaltedPassword of an earlier login
// (nil at the first), which it returns.
func scramLogin(t testing.TB, c *client, user, password string, salted []byte) []byte {
	t.Helper()
	return scramLoginWith(t, c, user, password, salted, "")
}

// scramLoginWith is scramLogin in the XEP-0388 profile when sasl2 is not
// "": what the <authenticate/> carries beyond the initial response.
func scramLoginWith(t testing.TB, c *client, user, password string, salted []byte, sasl2 string) []byte {
	t.Helper()
	const nonce = "benchmarknonce0123456789"
	bare := "n=" + user + ",r=" + nonce
	ns := "urn:ietf:params:xml:ns:xmpp-sasl"
	if sasl2 != "" {
		ns = nsSASL2
		c.send("<authenticate xmlns='" + ns + "' mechanism='SCRAM-SHA-256'><initial-response>" +
			base64.StdEncoding.EncodeToString([]byte("n,,"+bare)) + "</initial-response>" + sasl2 + "</authenticate>")
	} else {
		c.send("<auth xmlns='" + ns + "' mechanism='SCRAM-SHA-256'>" +
			base64.StdEncoding.EncodeToString([]byte("n,,"+bare)) + "</auth>")
	}
	e := c.next()
	if e.XMLName.Local != "challenge" || e.XMLName.Space != ns {
		t.Fatalf("auth: %+v", e)
	}
	first, _ := base64.StdEncoding.DecodeString(e.Inner)
	var fullNonce, salt64 string
	iter := 0
	for f := range strings.SplitSeq(string(first), ",") {
		switch {
		case strings.HasPrefix(f, "r="):
			fullNonce = f[2:]
		case strings.HasPrefix(f, "s="):
			salt64 = f[2:]
		case strings.HasPrefix(f, "i="):
			iter, _ = strconv.Atoi(f[2:])
		}
	}
	if !strings.HasPrefix(fullNonce, nonce) || iter < crosstalk.MinSCRAMIterations {
		t.Fatalf("server-first-message %q", first)
	}
	if salted == nil {
		salt, _ := base64.StdEncoding.DecodeString(salt64)
		var err error
		if salted, err = pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size); err != nil {
			t.Fatal(err)
		}
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	withoutProof := "c=biws,r=" + fullNonce
	authMessage := bare + "," + string(first) + "," + withoutProof
	clientKey := mac(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	proof := make([]byte, len(clientKey))
	subtle.XORBytes(proof, clientKey, mac(storedKey[:], authMessage))
	c.send("<response xmlns='" + ns + "'>" +
		base64.StdEncoding.EncodeToString([]byte(withoutProof+",p="+base64.StdEncoding.EncodeToString(proof))) + "</response>")
	e = c.next()
	data := e.Inner
	if sasl2 != "" {
		s := parseSuccess2(t, e)
		if s.Bound == nil || !strings.Contains(s.Identifier, "/") {
			t.Fatalf("SASL2 success without a bound session: %+v", e)
		}
		data = s.Data
	}
	final, _ := base64.StdEncoding.DecodeString(data)
	want := "v=" + base64.StdEncoding.EncodeToString(mac(mac(salted, "Server Key"), authMessage))
	if e.XMLName.Local != "success" || string(final) != want {
		t.Fatalf("SCRAM: %+v", e)
	}
	return salted
}
