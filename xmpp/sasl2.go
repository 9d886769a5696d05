package xmpp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// XEP-0388 Extensible SASL Profile (SASL2), version 1.0.4, and the inline
// features it carries: XEP-0386 Bind 2 (bind2.go), XEP-0484 FAST
// (fast_login.go) and XEP-0198 resumption (sm.go, negotiation.takeOver;
// XEP-0198 §"SASL2 And BIND2 Interaction"). The mechanisms, channel
// bindings, failure limits and credential checks are those of the classic
// profile (sasl.go, negotiation.exchange); only the elements differ, and
// the stream is not restarted after <success/>.
const (
	nsSASL2 = "urn:xmpp:sasl:2"
	nsBind2 = "urn:xmpp:bind:0"
)

// Limits of what an <authenticate/> may carry beyond the element size
// limit: the user-agent texts are for logs only.
const (
	maxUserAgentText = 128
	maxBindTag       = 64
)

// errMalformedAuthenticate refuses an <authenticate/> the server cannot
// read: malformed-request.
var errMalformedAuthenticate = errors.New("malformed authenticate")

// sasl2Request is what an <authenticate/> carries (XEP-0388 §2.3).
type sasl2Request struct {
	Mechanism string
	// Initial is the decoded initial response, nil when absent or empty
	// (both mean "send an empty challenge" to PLAIN and SCRAM).
	Initial []byte
	// UserAgent is the client's <user-agent/>; its ID is "" or a
	// canonical (lower-case) UUID.
	UserAgent userAgent
	// Bind is the Bind 2 request, nil for none.
	Bind *bind2Request
	// Resume is an XEP-0198 <resume/>, nil for none; ResumeErr is set
	// instead for a malformed one. Either is answered inside <success/>,
	// after authentication, and only then.
	Resume    *smResume
	ResumeErr error
	// RequestToken is the FAST mechanism of a <request-token/>, "" for
	// none; Fast says a <fast/> came (a login with a token), Invalidate
	// that it asks to invalidate the token (XEP-0484).
	RequestToken     string
	Fast, Invalidate bool
}

// userAgent is a client installation (XEP-0388 §2.3).
type userAgent struct {
	ID, Software, Device string
}

// authenticateXML is the wire form of <authenticate/>.
type authenticateXML struct {
	XMLName   xml.Name `xml:"urn:xmpp:sasl:2 authenticate"`
	Mechanism string   `xml:"mechanism,attr"`
	Initial   *string  `xml:"urn:xmpp:sasl:2 initial-response"`
	UserAgent *struct {
		ID       string `xml:"id,attr"`
		Software string `xml:"urn:xmpp:sasl:2 software"`
		Device   string `xml:"urn:xmpp:sasl:2 device"`
	} `xml:"urn:xmpp:sasl:2 user-agent"`
	Bind         *bind2XML  `xml:"urn:xmpp:bind:0 bind"`
	Resume       *resumeXML `xml:"urn:xmpp:sm:3 resume"`
	RequestToken *struct {
		Mechanism string `xml:"mechanism,attr"`
	} `xml:"urn:xmpp:fast:0 request-token"`
	Fast *struct {
		Invalidate string `xml:"invalidate,attr"`
	} `xml:"urn:xmpp:fast:0 fast"`
}

// authenticateError is a refused <authenticate/>: the SASL condition to
// answer with, and a text for the client.
type authenticateError struct {
	cond, text string
}

func (e *authenticateError) Error() string { return e.cond + ": " + e.text }

func (e *authenticateError) Unwrap() error { return errMalformedAuthenticate }

// parseAuthenticate reads an <authenticate/> element (its raw bytes, as
// the client sent it). A refused element is an *authenticateError.
func parseAuthenticate(raw []byte) (sasl2Request, error) {
	var (
		w   authenticateXML
		req sasl2Request
	)
	if err := xml.Unmarshal(raw, &w); err != nil {
		return req, &authenticateError{"malformed-request", "unreadable authenticate element"}
	}
	req.Mechanism = strings.TrimSpace(w.Mechanism)
	if req.Mechanism == "" {
		return req, &authenticateError{"invalid-mechanism", "no mechanism"}
	}
	if w.Initial != nil {
		data, err := decode64(*w.Initial)
		if err != nil {
			return req, &authenticateError{"incorrect-encoding", "initial response is not base64"}
		}
		req.Initial = data
	}
	if w.UserAgent != nil {
		id, ok := canonicalUUID(w.UserAgent.ID)
		if !ok {
			return req, &authenticateError{"malformed-request", "user-agent id must be a UUID"}
		}
		req.UserAgent = userAgent{
			ID:       id,
			Software: clip(w.UserAgent.Software, maxUserAgentText),
			Device:   clip(w.UserAgent.Device, maxUserAgentText),
		}
	}
	if w.RequestToken != nil {
		if _, ok := htBinding(w.RequestToken.Mechanism); !ok {
			return req, &authenticateError{"malformed-request", "no such FAST mechanism"}
		}
		req.RequestToken = w.RequestToken.Mechanism
	}
	if w.Fast != nil {
		req.Fast = true
		req.Invalidate = w.Fast.Invalidate == "true" || w.Fast.Invalidate == "1"
	}
	if w.Resume != nil {
		r, err := w.Resume.request()
		if err != nil {
			req.ResumeErr = err
		} else {
			req.Resume = &r
		}
	}
	if w.Bind != nil {
		b, err := w.Bind.request()
		if err != nil {
			return req, err
		}
		req.Bind = &b
	}
	return req, nil
}

// canonicalUUID checks a user-agent id: "" (none), or a UUID in its
// 8-4-4-4-12 hexadecimal form, returned in lower case. XEP-0388 asks for
// version 4; any version is taken, since only the form matters here.
func canonicalUUID(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// clip trims s and cuts it to at most n bytes, at a rune boundary.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return strings.TrimSpace(s[:n])
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// renderSASL2 writes the XEP-0388 stream feature: the same mechanisms as
// the classic one (channel bindings are advertised once, XEP-0440), and
// the inline features: XEP-0198 resumption when sessions may be resumed
// (Config.ResumeTimeout), Bind 2 with the features it enables (bind2.go),
// and FAST when it is on.
func (n *negotiation) renderSASL2(b *strings.Builder) {
	b.WriteString("<authentication xmlns='" + nsSASL2 + "'>")
	for _, m := range n.mechanisms() {
		b.WriteString("<mechanism>" + m + "</mechanism>")
	}
	b.WriteString("<inline>")
	if n.srv.cfg.ResumeTimeout > 0 {
		b.WriteString("<sm xmlns='" + nsSM + "'/>")
	}
	b.WriteString("<bind xmlns='" + nsBind2 + "'><inline>")
	b.WriteString(bind2Inline)
	b.WriteString("</inline></bind>")
	if mechs := n.fastMechanisms(); len(mechs) > 0 {
		b.WriteString("<fast xmlns='" + nsFAST + "'>")
		for _, m := range mechs {
			b.WriteString("<mechanism>" + m + "</mechanism>")
		}
		b.WriteString("</fast>")
	}
	b.WriteString("</inline></authentication>")
}

// authenticate runs a XEP-0388 exchange that began with el. On success
// with an XEP-0198 <resume/> that names a detached session of the
// account, the connection is handed to that session, whose <resumed/>
// comes inside the <success/> (errResumed). Otherwise (the <failed/> of
// the resumption inside the <success/>), without a Bind 2 request the
// stream is authenticated and goes on without a restart ((nil, nil): the
// client binds as in RFC 6120); with one, the bound session is returned.
// A failed attempt is reported and counted as in the classic profile and
// returns (nil, nil); an error ends the stream.
func (n *negotiation) authenticate(ctx context.Context, el element) (*session, error) {
	n.sasl2 = true
	req, err := parseAuthenticate(el.raw)
	if err != nil {
		var ae *authenticateError
		if errors.As(err, &ae) {
			if ae.cond == "malformed-request" {
				n.srv.fails.Fail("", n.remote.String()) // as a malformed SCRAM message counts
			}
			return nil, n.saslFailure(ae.cond, ae.text, err)
		}
		return nil, n.saslFailure("malformed-request", "", err)
	}
	var (
		user    crosstalk.Address
		success []byte
		rotate  bool
	)
	if cbType, ok := htBinding(req.Mechanism); ok && n.srv.fast != nil {
		user, success, rotate, err = n.fastLogin(ctx, req, cbType)
	} else {
		user, success, err = n.exchange(ctx, req.Mechanism, req.Initial)
	}
	if err != nil || user.IsZero() {
		return nil, err // the bind request is not processed (XEP-0386 §3.2)
	}
	n.authenticated(user, req.Mechanism)
	token := n.fastIssue(ctx, user, req, rotate)
	n.log.Debug().Str("user_agent", req.UserAgent.Software).Str("device", req.UserAgent.Device).Bool("bind2", req.Bind != nil).
		Bool("resume", req.Resume != nil || req.ResumeErr != nil).Msg("sasl2")
	// XEP-0198 §"Inline Stream Resumption": the <resume/> first; when it
	// succeeds, the <bind/> is ignored and no stream features follow.
	var smFail []byte
	switch {
	case req.ResumeErr != nil:
		smFail = smFailed("bad-request")
	case req.Resume != nil:
		smFail = n.takeOver(*req.Resume, func(full crosstalk.Address, resumed []byte) []byte {
			var b bytes.Buffer
			writeSuccessStart(&b, success, full)
			b.Write(resumed)
			b.WriteString(token + "</success>")
			return b.Bytes()
		})
		if smFail == nil {
			return nil, errResumed
		}
	}
	var b bytes.Buffer
	if req.Bind == nil {
		writeSuccessStart(&b, success, user)
		b.Write(smFail)
		b.WriteString(token + "</success>")
		b.Write(n.featuresFor(false)) // XEP-0388 §2.6.1: features follow, no restart
		return nil, n.t.write(b.Bytes())
	}
	sess, bound, err := n.bind2(ctx, user, req)
	if err != nil {
		// Authenticated, but no session (the server is shutting down): the
		// stream ends, with system-shutdown or an internal error.
		if streamCondition(err) == "" {
			return nil, fmt.Errorf("%w: %w", newStreamError(condInternal, "resource binding failed"), err)
		}
		return nil, err
	}
	writeSuccessStart(&b, success, sess.addr)
	b.Write(smFail)
	b.WriteString("<bound xmlns='" + nsBind2 + "'>")
	b.Write(bound)
	b.WriteString("</bound>" + token + "</success>")
	b.Write(n.featuresFor(true))
	if err := n.t.write(b.Bytes()); err != nil {
		n.unbind(ctx, sess)
		return nil, fmt.Errorf("sasl2 success: %w", err)
	}
	sess.log.Info().Str("mechanism", n.mechanism).Bool("tls", n.tlsOn).Bool("bind2", true).Msg("session bound")
	return sess, nil
}

// writeSuccessStart opens a XEP-0388 <success/>: the mechanism's
// additional data, if any, and the authorization identifier (the full
// address once a session is bound or resumed).
func writeSuccessStart(b *bytes.Buffer, additional []byte, id crosstalk.Address) {
	b.WriteString("<success xmlns='" + nsSASL2 + "'>")
	if len(additional) > 0 {
		b.WriteString("<additional-data>" + base64.StdEncoding.EncodeToString(additional) + "</additional-data>")
	}
	b.WriteString("<authorization-identifier>" + xmppmap.Escape(id.String()) + "</authorization-identifier>")
}
