package main

import (
	"crypto/sha1" //nolint:gosec // SCRAM-SHA-1 is tested as a fallback
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/scram"
)

// saslPeer is the server side of one SASL exchange in a test: a real
// SCRAM server (Crosstalk's), with the XML around its messages written
// the way a server variant does. It returns what went wrong on its side.
type saslPeer struct {
	h  scram.Hash
	fn func() hash.Hash
	// features is the stream features element offering mechanisms.
	features string
	// final writes the server-final-message v (base64) the variant's way,
	// with rd to read what the client answers.
	final func(w io.Writer, rd *elemReader, v string) error
	// failFirst answers the auth with this instead of a challenge.
	failFirst string
}

func (p saslPeer) serve(conn net.Conn, password string) error {
	keys, err := crosstalk.DeriveSCRAMKeys(p.fn, password, []byte("0123456789abcdef"), 4096)
	if err != nil {
		return err
	}
	srv := scram.New(p.h, false, nil, func(string) (crosstalk.SCRAMKeys, error) { return keys, nil })
	if _, err := io.WriteString(conn, streamHead+p.features); err != nil {
		return err
	}
	rd := newElemReader(conn)
	msg, err := readSASL(rd, "auth")
	if err != nil {
		return err
	}
	if mech, _ := rd.top().attr("mechanism"); string(mech) != p.h.Mechanism(false) {
		return fmt.Errorf("mechanism %q", mech)
	}
	if p.failFirst != "" {
		_, err := io.WriteString(conn, p.failFirst)
		return err
	}
	out, err := srv.Step(msg)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(conn, "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"+base64.StdEncoding.EncodeToString(out)+"</challenge>"); err != nil {
		return err
	}
	if msg, err = readSASL(rd, "response"); err != nil {
		return err
	}
	out, err = srv.Step(msg)
	if err != nil {
		_, _ = io.WriteString(conn, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>")
		return err
	}
	return p.final(conn, rd, base64.StdEncoding.EncodeToString(out))
}

// readSASL reads a client SASL element and returns its decoded data.
func readSASL(rd *elemReader, local string) ([]byte, error) {
	kind, err := rd.next()
	if err != nil {
		return nil, err
	}
	if kind != elemWhole || !rd.top().is(nsSASL, local) {
		return nil, fmt.Errorf("expected <%s/>", local)
	}
	if text := string(rd.top().text); text != "=" {
		return base64.StdEncoding.DecodeString(text)
	}
	return nil, nil
}

func successWith(data string) func(io.Writer, *elemReader, string) error {
	return func(w io.Writer, _ *elemReader, v string) error {
		_, err := fmt.Fprintf(w, data, v)
		return err
	}
}

// runAuth runs rawSession.auth against p with the client's password.
func runAuth(t *testing.T, p saslPeer, password string) (error, error) {
	t.Helper()
	cc, sc := net.Pipe()
	defer cc.Close()
	_ = cc.SetDeadline(time.Now().Add(10 * time.Second))
	_ = sc.SetDeadline(time.Now().Add(10 * time.Second))
	served := make(chan error, 1)
	go func() {
		defer sc.Close()
		served <- p.serve(sc, "pencil")
	}()
	s := &rawSession{conn: cc, w: cc, rd: newElemReader(cc)}
	if kind, err := s.rd.next(); err != nil || kind != elemHeader {
		t.Fatalf("header: %v %v", kind, err)
	}
	if err := s.read(); err != nil {
		t.Fatalf("features: %v", err)
	}
	err := s.auth(newSaltedCache(), account{Local: "user,1", Domain: "localhost", Password: password})
	cc.Close()
	return err, <-served
}

func TestRawAuth(t *testing.T) {
	const both = `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features>`
	const sha1Only = "<stream:features>\n  <mechanisms xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\">\n    <mechanism>SCRAM-SHA-1</mechanism>\n  </mechanisms>\n</stream:features>"
	sha256Peer := func(final func(io.Writer, *elemReader, string) error) saslPeer {
		return saslPeer{h: scram.SHA256, fn: sha256.New, features: both, final: final}
	}
	tests := map[string]struct {
		peer     saslPeer
		password string
		err      string // "" for success
	}{
		"success with data (Prosody)": {
			peer: sha256Peer(successWith("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</success>")),
		},
		"SHA-1 only, double quotes (ejabberd)": {
			peer: saslPeer{h: scram.SHA1, fn: sha1.New, features: sha1Only, final: successWith(`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl">%s</success>`)},
		},
		"prefixed, the signature in a last challenge": {
			peer: sha256Peer(func(w io.Writer, rd *elemReader, v string) error {
				if _, err := fmt.Fprintf(w, "<sasl:challenge xmlns:sasl='urn:ietf:params:xml:ns:xmpp-sasl'>%s</sasl:challenge>", v); err != nil {
					return err
				}
				if data, err := readSASL(rd, "response"); err != nil || len(data) > 0 {
					return fmt.Errorf("empty response: %q, %v", data, err)
				}
				_, err := io.WriteString(w, "<sasl:success xmlns:sasl='urn:ietf:params:xml:ns:xmpp-sasl'/>")
				return err
			}),
		},
		"wrong password": {
			peer:     sha256Peer(successWith("%s")),
			password: "wrong",
			err:      "failure: not-authorized",
		},
		"failure with text": {
			peer: saslPeer{h: scram.SHA256, fn: sha256.New, features: both,
				failFirst: `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><text xml:lang='en'>try later</text><temporary-auth-failure/></failure>`},
			err: `failure: temporary-auth-failure ("try later")`,
		},
		"stream error": {
			peer: saslPeer{h: scram.SHA256, fn: sha256.New, features: both,
				failFirst: `<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`},
			err: "stream error from the server: policy-violation",
		},
		"wrong server signature": {
			peer: sha256Peer(func(w io.Writer, _ *elemReader, _ string) error {
				_, err := fmt.Fprintf(w, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</success>", base64.StdEncoding.EncodeToString([]byte("v=AAAA")))
				return err
			}),
			err: "wrong server signature",
		},
		"no server signature": {
			peer: sha256Peer(successWith("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>%.0s")),
			err:  "no server signature",
		},
		"no SCRAM": {
			peer: saslPeer{features: `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`},
			err:  `no SCRAM-SHA-256 or SCRAM-SHA-1 among ["PLAIN"]`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.peer.fn == nil {
				tc.peer.h, tc.peer.fn = scram.SHA256, sha256.New
			}
			pw := tc.password
			if pw == "" {
				pw = "pencil"
			}
			err, srvErr := runAuth(t, tc.peer, pw)
			switch {
			case tc.err == "" && (err != nil || srvErr != nil):
				t.Fatalf("client: %v; server: %v", err, srvErr)
			case tc.err != "" && (err == nil || err.Error() != tc.err):
				t.Fatalf("client error %v, want %s", err, tc.err)
			}
			if tc.err == "stream error from the server: policy-violation" && !errors.Is(err, errStreamError) {
				t.Errorf("%v is not errStreamError", err)
			}
		})
	}
}

func TestStreamHeaderEscapes(t *testing.T) {
	got := streamHeader(`a'b&c`)
	if !strings.HasSuffix(got, ` to='a&apos;b&amp;c'>`) {
		t.Errorf("header %s", got)
	}
	e := newElemReader(strings.NewReader(got))
	if kind, err := e.next(); err != nil || kind != elemHeader {
		t.Fatalf("own header read back as %v, %v", kind, err)
	}
}

func TestRawResult(t *testing.T) {
	for name, tc := range map[string]struct{ in, err string }{
		"skips other stanzas": {
			in: `<presence from='a@b/c'/><iq type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq><iq id="ctroster" type="result"><query xmlns="jabber:iq:roster"/></iq>`,
		},
		"error response": {
			in:  `<iq type='error' id='ctroster'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
			err: "error response: item-not-found",
		},
		"stream error first": {
			in:  `<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>replaced</text></stream:error>`,
			err: `stream error from the server: conflict ("replaced")`,
		},
		"stream ended": {in: `</stream:stream>`, err: "server ended the stream"},
	} {
		t.Run(name, func(t *testing.T) {
			s := &rawSession{rd: newElemReader(strings.NewReader(streamHead + tc.in))}
			if kind, err := s.rd.next(); err != nil || kind != elemHeader {
				t.Fatalf("header: %v %v", kind, err)
			}
			err := s.result("ctroster")
			if got := fmt.Sprint(err); tc.err == "" && err != nil || tc.err != "" && got != tc.err {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}
