package xmpp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/scram"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// negotiation is the state of one connection before resource binding
// (RFC 6120 §4–§7). It belongs to the connection's goroutine; nothing in it
// is shared, which is why mellium's Negotiator (trap 5) is not needed.
type negotiation struct {
	srv    *Server
	t      *transport
	sid    string
	remote netip.Addr
	log    zerolog.Logger
	raw    net.Conn

	tlsOn      bool
	tlsState   *tls.ConnectionState
	serverCert *x509.Certificate
	// cb caches the channel-binding data (bindings), derived only for a
	// -PLUS exchange (bindingsFor): every tls-exporter value is a TLS
	// key-schedule derivation.
	cb         scram.ChannelBinding
	domain     string
	authed     crosstalk.Address
	mechanism  string
	failures   int
	headerSent bool
	// failed says the server ended the stream with a stream error (fail):
	// the connection is then closed lingering (closeLingering).
	failed bool
	// sasl2 says the current SASL exchange is XEP-0388's (sasl2.go), whose
	// challenges and failures are in its own namespace.
	sasl2 bool
}

// maxRestarts bounds stream restarts: STARTTLS and SASL make two.
const maxRestarts = 3

// maxNegotiationElements bounds the elements one negotiation stream may
// carry (SASL retries, a bind, a few early pings).
const maxNegotiationElements = 16

// run negotiates until a resource is bound and returns the bound session.
// Over TLS, what the negotiation writes is held until the server must
// wait for the client (transport.holdWrites), and sent before run returns:
// a bound session's answer that cannot be written undoes the binding, as
// a failed write of it always did.
func (n *negotiation) run(ctx context.Context) (*session, error) {
	n.raw = n.t.conn
	sess, err := n.streams(ctx)
	if err := n.t.endHold(); err != nil && sess != nil {
		n.unbind(ctx, sess)
		return nil, fmt.Errorf("answer to the binding: %w", err)
	}
	return sess, err
}

// streams runs the negotiation's streams, up to maxRestarts restarts.
func (n *negotiation) streams(ctx context.Context) (*session, error) {
	for range maxRestarts + 1 {
		restart, sess, err := n.stream(ctx)
		if err != nil {
			n.fail(err)
			return nil, err
		}
		if sess != nil {
			return sess, nil
		}
		if !restart {
			break
		}
	}
	err := newStreamError(condPolicyViolation, "too many stream restarts")
	n.fail(err)
	return nil, err
}

// fail sends the stream error that err calls for, if any.
func (n *negotiation) fail(err error) {
	cond := streamCondition(err)
	if cond == "" {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			cond = condConnectionTimeout
		} else {
			return
		}
	}
	var out []byte
	if !n.headerSent {
		out = streamHeader(n.sid, n.srv.cfg.Domains[0])
	}
	_ = n.t.write(append(out, streamErrorXML(cond)...))
	n.failed = true
}

// stream handles one stream from its header to a restart (restart true),
// a bound session, or an error.
func (n *negotiation) stream(ctx context.Context) (restart bool, sess *session, err error) {
	n.headerSent = false
	if n.tlsOn {
		n.t.holdWrites()
	}
	hdr, err := n.t.readHeader()
	if err != nil {
		return false, nil, err
	}
	if err := n.checkHeader(hdr); err != nil {
		return false, nil, err
	}
	if err := n.t.write(append(streamHeader(n.sid, n.domain), n.features()...)); err != nil {
		return false, nil, err
	}
	n.headerSent = true
	for range maxNegotiationElements {
		el, err := n.t.next()
		if err != nil {
			return false, nil, err
		}
		switch {
		case el.start.Name.Space == nsTLS && el.start.Name.Local == "starttls":
			if n.tlsOn || n.srv.cfg.TLS == nil {
				_ = n.t.write([]byte("<failure xmlns='" + nsTLS + "'/></stream:stream>"))
				return false, nil, errors.New("starttls refused")
			}
			if err := n.t.write([]byte("<proceed xmlns='" + nsTLS + "'/>")); err != nil {
				return false, nil, err
			}
			return true, nil, n.startTLS(ctx, false)
		case el.start.Name.Space == nsSASL && el.start.Name.Local == "auth" && n.authed.IsZero():
			if n.srv.cfg.RequireTLS && !n.tlsOn {
				return false, nil, newStreamError(condPolicyViolation, "TLS is required before authentication")
			}
			ok, err := n.sasl(ctx, el)
			if err != nil {
				return false, nil, err
			}
			if ok {
				n.t.restart()
				return true, nil, nil
			}
		case el.start.Name.Space == nsSASL2 && el.start.Name.Local == "authenticate" && n.authed.IsZero() && n.tlsOn:
			// XEP-0388: no stream restart; with a Bind 2 request, the
			// session is bound when the exchange succeeds.
			sess, err := n.authenticate(ctx, el)
			if sess != nil || err != nil {
				return false, sess, err
			}
		case el.start.Name.Space == nsSM && el.start.Name.Local == "resume" && !n.authed.IsZero():
			if n.resume(el) {
				return false, nil, errResumed
			}
		case el.start.Name.Space == nsClient && el.start.Name.Local == "iq" && !n.authed.IsZero():
			sess, err := n.bind(ctx, el)
			if sess != nil || err != nil {
				return false, sess, err
			}
		default:
			return false, nil, newStreamError(condNotAuthorized, "<"+el.start.Name.Local+"/> before authentication and binding")
		}
	}
	return false, nil, newStreamError(condPolicyViolation, "too many negotiation elements")
}

// checkHeader checks the client's stream header (RFC 6120 §4.7, §4.9.3).
func (n *negotiation) checkHeader(hdr xml.StartElement) error {
	to := attr(hdr, "", "to")
	if to == "" && n.domain == "" {
		to = n.srv.cfg.Domains[0]
	}
	if to != "" {
		a, err := crosstalk.ParseAddress(to)
		if err != nil || a.Local() != "" || a.Resource() != "" || !slices.Contains(n.srv.cfg.Domains, a.Domain()) {
			n.domain = n.srv.cfg.Domains[0]
			return newStreamError(condHostUnknown, "domain not served here")
		}
		if n.domain != "" && n.domain != a.Domain() {
			return newStreamError(condHostUnknown, "domain changed on restart")
		}
		n.domain = a.Domain()
	}
	if attr(hdr, "", "xmlns") != nsClient {
		return newStreamError(condInvalidNamespace, "the default namespace must be jabber:client")
	}
	if v := attr(hdr, "", "version"); v == "" || strings.HasPrefix(v, "0.") {
		return newStreamError(condUnsupportedVersion, "version 1.0 is required")
	}
	return nil
}

// features returns the stream features for the current state. They depend
// on the state only (authenticated or not, TLS or not, which channel
// bindings), not on the connection, so each variant is rendered once per
// server and shared: read-only.
func (n *negotiation) features() []byte {
	return n.featuresFor(false)
}

// featuresFor returns the stream features for the current state; bound
// is for those that follow a XEP-0388 <success/> with a Bind 2 session
// (no resource binding left to offer).
func (n *negotiation) featuresFor(bound bool) []byte {
	exporter, endPoint := n.bindingTypes()
	key := 0
	for i, on := range [...]bool{!n.authed.IsZero(), n.tlsOn, exporter, endPoint, bound} {
		if on {
			key |= 1 << i
		}
	}
	if f := n.srv.featureCache[key].Load(); f != nil {
		return *f
	}
	f := n.renderFeatures(exporter, endPoint, bound)
	n.srv.featureCache[key].Store(&f)
	return f
}

// renderFeatures renders the stream features for the current state.
func (n *negotiation) renderFeatures(exporter, endPoint, bound bool) []byte {
	var b strings.Builder
	b.WriteString("<stream:features>")
	b.WriteString(n.srv.caps) // XEP-0115 §6.3
	switch {
	case !n.authed.IsZero():
		if !bound {
			b.WriteString("<bind xmlns='" + nsBind + "'/><session xmlns='" + nsSession + "'><optional/></session>")
		}
		b.WriteString("<ver xmlns='urn:xmpp:features:rosterver'/><csi xmlns='" + nsCSI + "'/><sm xmlns='" + nsSM + "'/>")
		b.WriteString("<sub xmlns='urn:xmpp:features:pre-approval'/>") // RFC 6121 §3.4
	default:
		if !n.tlsOn && n.srv.cfg.TLS != nil {
			b.WriteString("<starttls xmlns='" + nsTLS + "'>")
			if n.srv.cfg.RequireTLS {
				b.WriteString("<required/>")
			}
			b.WriteString("</starttls>")
		}
		if n.tlsOn || !n.srv.cfg.RequireTLS {
			b.WriteString("<mechanisms xmlns='" + nsSASL + "'>")
			for _, m := range n.mechanisms() {
				b.WriteString("<mechanism>" + m + "</mechanism>")
			}
			b.WriteString("</mechanisms>")
			if exporter || endPoint {
				b.WriteString("<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>")
				if exporter {
					b.WriteString("<channel-binding type='" + scram.TLSExporter + "'/>")
				}
				if endPoint {
					b.WriteString("<channel-binding type='" + scram.TLSServerEndPoint + "'/>")
				}
				b.WriteString("</sasl-channel-binding>")
			}
		}
		if n.tlsOn { // XEP-0388 only under TLS, whatever RequireTLS says
			n.renderSASL2(&b)
		}
	}
	b.WriteString("</stream:features>")
	return []byte(b.String())
}

// startTLS runs the server side of the TLS handshake and restarts the
// reading stack on the TLS connection.
func (n *negotiation) startTLS(ctx context.Context, direct bool) error {
	cfg, leaf := n.srv.sharedTLS(direct)
	if cfg != nil {
		n.serverCert = leaf
	} else {
		cfg = n.srv.serverTLS(direct, func(c *tls.Certificate) { n.serverCert = leafOf(c) })
	}
	conn := tls.Server(newRecordConn(n.t.conn, n.t.bufs, n.srv.idle), cfg)
	hctx, cancel := context.WithTimeout(ctx, n.srv.cfg.HandshakeTimeout)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	st := conn.ConnectionState()
	n.tlsState, n.tlsOn, n.cb = &st, true, nil
	n.t.reset(conn)
	return nil
}

// bindingTypes reports which channel bindings the connection offers
// (those bindings returns), without deriving their data.
func (n *negotiation) bindingTypes() (exporter, endPoint bool) {
	if !n.tlsOn {
		return false, false
	}
	return scram.Offers(n.tlsState, n.serverCert)
}

// bindings returns the connection's channel-binding data, computed once
// per TLS connection (an empty map when TLS offers none).
func (n *negotiation) bindings() scram.ChannelBinding {
	if !n.tlsOn {
		return nil
	}
	if n.cb == nil {
		n.cb = scram.Bindings(n.tlsState, n.serverCert)
		if n.cb == nil {
			n.cb = scram.ChannelBinding{}
		}
	}
	return n.cb
}

// bindingsFor returns what a SCRAM exchange needs of the channel
// bindings: their data for a -PLUS mechanism; for one without, only which
// types the connection offers (a client's "y" flag is a downgrade when it
// offers any), so that no tls-exporter value or certificate hash is
// derived for the logins that do not bind.
func (n *negotiation) bindingsFor(plus bool) scram.ChannelBinding {
	if plus {
		return n.bindings()
	}
	exporter, endPoint := n.bindingTypes()
	cb := make(scram.ChannelBinding, 2)
	if exporter {
		cb[scram.TLSExporter] = nil
	}
	if endPoint {
		cb[scram.TLSServerEndPoint] = nil
	}
	return cb
}

// bind handles the resource-binding IQ (RFC 6120 §7) with the identity
// SASL established, never the stream's from (mellium trap 3). It returns
// (nil, nil) for an IQ that is answered but binds nothing.
func (n *negotiation) bind(ctx context.Context, el element) (*session, error) {
	st, err := xmppmap.NewStanza(el.start, el.inner) // decoded already: no second parse
	if err != nil {
		return nil, newStreamError(condNotWellFormed, err.Error())
	}
	if el.children != nil {
		st.SetChildren(el.children)
	}
	children, err := st.Children()
	if err != nil || len(children) != 1 || st.Attr("type") != "set" || children[0].XMLName.Space != nsBind {
		return nil, n.t.write(iqError(&st, "", feature.NotAllowed("bind a resource first")))
	}
	want := n.authed
	resource := bindResource(children[0].Inner)
	if resource != "" {
		if want, err = n.authed.WithResource(resource); err != nil {
			return nil, n.t.write(iqError(&st, "", feature.BadRequest("invalid resource")))
		}
	}
	sess, err := n.bindSession(ctx, want)
	if err != nil {
		return nil, n.t.write(iqError(&st, "", stanzaError(err)))
	}
	reply := "<iq type='result' id='" + xmppmap.Escape(st.Attr("id")) + "'><bind xmlns='" + nsBind + "'><jid>" +
		xmppmap.Escape(sess.addr.String()) + "</jid></bind></iq>"
	if err := n.t.write([]byte(reply)); err != nil {
		n.unbind(ctx, sess)
		return nil, err
	}
	sess.log.Info().Str("mechanism", n.mechanism).Bool("tls", n.tlsOn).Msg("session bound")
	return sess, nil
}

// bindSession binds a new session of the authenticated account at want
// (a bare address: a resource the hub generates), with the hub's conflict
// policy (the newer session replaces the older). It is resource binding
// for both RFC 6120 §7 (bind) and Bind 2 (bind2.go); the caller answers.
func (n *negotiation) bindSession(ctx context.Context, want crosstalk.Address) (*session, error) {
	sess := newSession(n)
	addr, err := n.srv.hub.Bind(ctx, want, sess)
	if err != nil {
		n.log.Warn().Err(err).Str("jid", want.String()).Msg("binding failed")
		return nil, fmt.Errorf("bind %s: %w", want, err)
	}
	sess.addr = addr
	sess.log = n.log.Hook(logField{"jid", addr.String()})
	// One logger for the session's life, with its fields in hooks
	// (connFields): no 500-byte zerolog context buffer per session.
	n.t.log = sess.log
	return sess, nil
}

// unbind undoes bindSession when the answer could not be written.
func (n *negotiation) unbind(ctx context.Context, sess *session) {
	n.srv.forgetResumable(sess) // Bind 2 may have enabled resumption
	n.srv.hub.Unbind(ctx, sess.addr, sess, sess.mbox.Close())
}

// bindResource returns the resource a <bind/> asks for (the text of its
// last <resource/> child, trimmed), "" for none. The usual form,
// <resource>text</resource> with plain text, is read without a decoder.
func bindResource(inner []byte) string {
	const open, end = "<resource>", "</resource>"
	if b := bytes.TrimSpace(inner); bytes.HasPrefix(b, []byte(open)) && bytes.HasSuffix(b, []byte(end)) {
		if text := b[len(open) : len(b)-len(end)]; xmppmap.PlainText(text) {
			return strings.TrimSpace(string(text))
		}
	}
	return bindResourceParsed(inner)
}

// bindResourceParsed is bindResource by a parse of the <bind/> children:
// the general case, and the oracle FuzzBindResource checks the plain
// form against.
func bindResourceParsed(inner []byte) string {
	var resource string
	children, _ := (&xmppmap.Stanza{Name: "bind", Inner: inner}).Children()
	for i := range children {
		if children[i].XMLName.Local == "resource" {
			resource = strings.TrimSpace(children[i].Text())
		}
	}
	return resource
}

// iqError renders an error reply to an IQ; from is the replying entity
// ("" for the server on the account's behalf).
func iqError(iq *xmppmap.Stanza, from string, e *feature.Error) []byte {
	reply := xmppmap.Stanza{Name: "iq"}
	reply.SetAttr("from", from)
	reply.SetAttr("to", iq.Attr("from"))
	reply.SetAttr("id", iq.Attr("id"))
	reply.SetAttr("type", "error")
	reply.Inner = []byte(e.XML())
	return reply.Bytes()
}

// attr returns an attribute of a start element, or "".
func attr(start xml.StartElement, space, local string) string {
	for _, a := range start.Attr {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// errResumed ends a negotiation whose connection now serves a resumed
// session.
var errResumed = errors.New("connection handed to a resumed session")

// resume answers a <resume/> sent after authentication (XEP-0198 §5): it
// hands this connection to the detached session the <resume/> names and
// returns true once the session is done with it, or answers <failed/> and
// returns false.
func (n *negotiation) resume(el element) bool {
	var w resumeXML
	failed := smFailed("bad-request")
	if err := xml.Unmarshal(el.raw, &w); err == nil {
		if r, err := w.request(); err == nil {
			failed = n.takeOver(r, nil)
		}
	}
	if failed == nil {
		return true
	}
	_ = n.t.write(failed)
	return false
}

// takeOver hands this connection to the resumable session of the
// authenticated account that r names, and waits until the session is
// done with it. It returns nil when the session took the connection,
// else the <failed/> for the client; the connection is then untouched
// and may go on negotiating. A session of another account fails exactly
// as an unknown one (item-not-found, no h), so that no one learns which
// ids are live; a <failed/> about a session of the account carries the
// count of stanzas the server handled from it (h), and one whose h
// acknowledges more stanzas than the session sent is refused
// (smState.checkResume), the session left as it was. The negotiation's
// held writes go out before the session takes the connection. wrap, if
// not nil, encloses the <resumed/> answer and is given the session's full
// address (XEP-0388 inline resumption, sasl2.go).
func (n *negotiation) takeOver(r smResume, wrap func(full crosstalk.Address, resumed []byte) []byte) []byte {
	sess := n.srv.lookupResumable(r.PrevID)
	if sess == nil || sess.addr.Bare() != n.authed {
		if h, ok := n.srv.endedCount(r.PrevID, n.authed); ok { // the account's own, recently ended
			return smFailedH("item-not-found", h, "")
		}
		return smFailed("item-not-found")
	}
	if failed := sess.sm.checkResume(r.H); failed != nil {
		n.log.Info().Str("jid", sess.addr.String()).Msg("resumption refused: the client's h is beyond what was sent")
		return failed
	}
	if err := n.t.endHold(); err != nil { // the session writes on n.t from now on
		return smFailed("undefined-condition")
	}
	ho := &handover{t: n.t, h: r.H, released: make(chan struct{})}
	if wrap != nil {
		full := sess.addr
		ho.wrap = func(resumed []byte) []byte { return wrap(full, resumed) }
	}
	if !sess.offer(ho) {
		return smFailedH("unexpected-request", sess.sm.handled(), "")
	}
	<-ho.released
	if ho.failed != nil { // h too high for the session, found by the session itself
		return ho.failed
	}
	if ho.refused { // the session ended before it could take this connection
		return smFailedH("item-not-found", sess.sm.handled(), "")
	}
	return nil
}
