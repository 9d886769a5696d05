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
	"github.com/crosstalk-im/crosstalk/xmpp/scram"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// maxSASLFailures is how many failed attempts one stream may make before
// it is closed (RFC 6120 §6.4.5 asks for at least 2 and at most 5 retries).
const maxSASLFailures = 3

// errRateLimited refuses a login attempt from an address or for an account
// that has failed too often.
var errRateLimited = errors.New("too many failed logins")

// mechanisms lists the SASL mechanisms offered on this connection, best
// first: SCRAM with channel binding when TLS offers one, SCRAM, and PLAIN
// only under TLS.
func (n *negotiation) mechanisms() []string {
	var out []string
	if exporter, endPoint := n.bindingTypes(); exporter || endPoint {
		out = append(out, "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS")
	}
	out = append(out, "SCRAM-SHA-256", "SCRAM-SHA-1")
	if n.tlsOn {
		out = append(out, "PLAIN")
	}
	return out
}

// saslAuth is what an <auth/> element carries.
type saslAuth struct {
	Mechanism string
	Data      string
}

// parseAuth reads an <auth/> element: its mechanism attribute (matched by
// local name, the last one winning, as xml.Unmarshal does) and its text.
func parseAuth(el element) (saslAuth, error) {
	var auth saslAuth
	for _, a := range el.start.Attr {
		if a.Name.Local == "mechanism" {
			auth.Mechanism = a.Value
		}
	}
	var err error
	auth.Data, err = textOf(el)
	return auth, err
}

// textOf returns the character data directly inside an element. SASL data
// is base64, so its bytes are the text as they are (xmppmap.PlainText);
// only content with markup or references (a child, CDATA, an entity) goes
// through encoding/xml, which is what this spares for every login.
func textOf(el element) (string, error) {
	if xmppmap.PlainText(el.inner) {
		return string(el.inner), nil
	}
	var r struct {
		Data string `xml:",chardata"`
	}
	if err := xml.Unmarshal(el.raw, &r); err != nil {
		return "", err
	}
	return r.Data, nil
}

// sasl runs one SASL exchange (RFC 6120 §6.4) that began with el. It
// returns true on success; a failed attempt is reported to the client and
// counted, and returns false. An error ends the stream.
func (n *negotiation) sasl(ctx context.Context, el element) (bool, error) {
	n.sasl2 = false
	auth, err := parseAuth(el)
	if err != nil {
		return false, newStreamError(condBadFormat, "auth element")
	}
	data, err := decode64(auth.Data)
	if err != nil {
		return false, n.saslFailure("incorrect-encoding", "", err)
	}
	user, success, err := n.exchange(ctx, auth.Mechanism, data)
	if err != nil || user.IsZero() {
		return false, err
	}
	if err := n.t.write([]byte("<success xmlns='" + nsSASL + "'>" + base64.StdEncoding.EncodeToString(success) + "</success>")); err != nil {
		return false, err
	}
	n.authenticated(user, auth.Mechanism)
	return true, nil
}

// exchange runs the mechanism part of a SASL exchange, the same in both
// profiles (RFC 6120 §6.4 and XEP-0388, n.sasl2): the failure limits per
// address and per account, the mechanism offered, PLAIN or SCRAM, the
// authorization identity. It returns the authenticated account and the
// mechanism's success data (SCRAM's server-final message); a zero address
// with a nil error is a failed attempt, already reported to the client and
// counted. An error ends the stream.
func (n *negotiation) exchange(ctx context.Context, mech string, data []byte) (crosstalk.Address, []byte, error) {
	var none crosstalk.Address
	if refused, err := n.refuseLockedSource(); refused {
		return none, nil, err
	}
	if !n.offered(mech) {
		return none, nil, n.saslFailure("invalid-mechanism", "", fmt.Errorf("mechanism %q not offered", mech))
	}
	var (
		user    crosstalk.Address
		authzid string
		success []byte
		err     error
	)
	if mech == "PLAIN" {
		if len(data) == 0 { // no initial response: ask for it (RFC 6120 §6.4.2)
			if data, err = n.challenge(nil); err != nil {
				var se *streamError
				if errors.As(err, &se) {
					return none, nil, err
				}
				return none, nil, n.saslFailureFor(crosstalk.Address{}, err)
			}
		}
		user, authzid, err = n.plain(ctx, data)
	} else {
		user, authzid, success, err = n.scram(ctx, mech, data)
	}
	if err == nil && authzid != "" {
		if a, perr := crosstalk.ParseAddress(authzid); perr != nil || (a != user && authzid != user.Local()) {
			return none, nil, n.saslFailure("invalid-authzid", "", fmt.Errorf("authzid %q for %s", authzid, user))
		}
	}
	if err != nil {
		var se *streamError
		if errors.As(err, &se) {
			return none, nil, err
		}
		return none, nil, n.saslFailureFor(user, err)
	}
	return user, success, nil
}

// refuseLockedSource refuses a login attempt, with temporary-auth-failure,
// while the client's address is locked out for failed logins: in both
// profiles, for every mechanism, FAST tokens included. refused says it
// did; err is then what saslFailure returned.
func (n *negotiation) refuseLockedSource() (refused bool, err error) {
	if _, locked := n.srv.fails.SourceLocked(n.remote.String()); !locked {
		return false, nil
	}
	return true, n.saslFailure("temporary-auth-failure", "too many failed logins from your address; try again in a minute", errRateLimited)
}

// authenticated records a successful login: the stream's identity, and a
// success that clears the account's failure count from this address.
func (n *negotiation) authenticated(user crosstalk.Address, mech string) {
	n.authed, n.mechanism = user, mech
	n.srv.fails.Succeed(user.String(), n.remote.String())
	n.log.Debug().Str("jid", user.String()).Str("mechanism", mech).Bool("sasl2", n.sasl2).Msg("authenticated")
}

func (n *negotiation) offered(mech string) bool {
	for _, m := range n.mechanisms() {
		if m == mech {
			return true
		}
	}
	return false
}

// saslFailureFor reports a failed attempt with the condition err calls for.
func (n *negotiation) saslFailureFor(user crosstalk.Address, err error) error {
	switch {
	case errors.Is(err, errRateLimited):
		return n.saslFailure("temporary-auth-failure", "too many failed logins for this account; try again in a minute", err)
	case errors.Is(err, errAborted):
		return n.saslRefusal("aborted", "", err) // not a guess: not counted
	case errors.Is(err, scram.ErrMalformed), errors.Is(err, crosstalk.ErrInvalidAddress):
		n.srv.fails.Fail("", n.remote.String())
		return n.saslFailure("malformed-request", "", err)
	case errors.Is(err, scram.ErrInvalidAuthzid):
		return n.saslFailure("invalid-authzid", "", err)
	case errors.Is(err, scram.ErrChannelBinding):
		// Not a password guess: a client that cannot bind (or claims a
		// binding type we do not offer) may go on to another mechanism, so
		// this neither counts towards the limits nor ends the stream.
		return n.saslRefusal("not-authorized", "channel binding refused", err)
	}
	var account string
	if !user.IsZero() {
		account = user.String()
	}
	n.srv.fails.Fail(account, n.remote.String())
	return n.saslFailure("not-authorized", "", err)
}

// saslFailure sends <failure/> and counts the attempt; after
// maxSASLFailures it ends the stream.
func (n *negotiation) saslFailure(cond, text string, cause error) error {
	n.failures++
	if err := n.saslRefusal(cond, text, cause); err != nil {
		return err
	}
	if n.failures >= maxSASLFailures {
		return newStreamError(condPolicyViolation, "too many failed logins")
	}
	return nil
}

// saslRefusal sends <failure/> without counting it, in the current
// exchange's profile.
func (n *negotiation) saslRefusal(cond, text string, cause error) error {
	n.log.Info().Err(cause).Str("condition", cond).Msg("login failed")
	var out string
	if n.sasl2 { // XEP-0388 §2.6.2: the RFC 6120 condition in its own namespace
		out = "<failure xmlns='" + nsSASL2 + "'><" + cond + " xmlns='" + nsSASL + "'/>"
	} else {
		out = "<failure xmlns='" + nsSASL + "'><" + cond + "/>"
	}
	if text != "" {
		out += "<text xml:lang='en'>" + text + "</text>"
	}
	out += "</failure>"
	return n.t.write([]byte(out))
}

// account returns the address and stored credentials of a SASL username,
// refusing accounts that are rate limited.
func (n *negotiation) account(ctx context.Context, username string) (crosstalk.Address, crosstalk.Credentials, error) {
	addr, err := crosstalk.NewAddress(username, n.domain, "")
	if err != nil || addr.Local() == "" {
		return crosstalk.Address{}, crosstalk.Credentials{}, fmt.Errorf("username: %w", crosstalk.ErrInvalidAddress)
	}
	if _, locked := n.srv.fails.AccountLocked(addr.String(), n.remote.String()); locked {
		return addr, crosstalk.Credentials{}, errRateLimited
	}
	acct, err := n.srv.store.GetAccount(ctx, addr)
	if err != nil {
		return addr, crosstalk.Credentials{}, err
	}
	return addr, acct.Credentials, nil
}

// plain verifies a PLAIN response (RFC 4616).
func (n *negotiation) plain(ctx context.Context, data []byte) (crosstalk.Address, string, error) {
	parts := bytes.Split(data, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return crosstalk.Address{}, "", fmt.Errorf("plain: %w", scram.ErrMalformed)
	}
	addr, creds, err := n.account(ctx, string(parts[1]))
	if err != nil {
		if errors.Is(err, crosstalk.ErrNoSuchAccount) {
			return addr, "", fmt.Errorf("plain: %w", scram.ErrAuthFailed)
		}
		return addr, "", err
	}
	if !creds.VerifyPassword(string(parts[2])) {
		return addr, "", fmt.Errorf("plain: %w", scram.ErrAuthFailed)
	}
	return addr, string(parts[0]), nil
}

// errAborted reports a client <abort/>.
var errAborted = errors.New("aborted by the client")

// scram runs a SCRAM exchange with our own server (mellium's cannot use
// stored keys and panics on -PLUS).
func (n *negotiation) scram(ctx context.Context, mech string, first []byte) (crosstalk.Address, string, []byte, error) {
	h := scram.SHA1
	if strings.HasPrefix(mech, "SCRAM-SHA-256") {
		h = scram.SHA256
	}
	var addr crosstalk.Address
	var lookupErr error
	plus := strings.HasSuffix(mech, "-PLUS")
	srv := scram.New(h, plus, n.bindingsFor(plus), func(username string) (crosstalk.SCRAMKeys, error) {
		a, creds, err := n.account(ctx, username)
		addr = a
		if err != nil {
			lookupErr = err
			if errors.Is(err, errRateLimited) {
				return crosstalk.SCRAMKeys{}, err
			}
			return crosstalk.SCRAMKeys{}, fmt.Errorf("%w", crosstalk.ErrNoSuchAccount)
		}
		return h.Keys(creds), nil
	})
	msg := first
	var err error
	if len(msg) == 0 { // no initial response: ask for it (RFC 6120 §6.4.2)
		if msg, err = n.challenge(nil); err != nil {
			return addr, "", nil, err
		}
	}
	serverFirst, err := srv.Step(msg)
	if err != nil {
		if errors.Is(lookupErr, errRateLimited) {
			return addr, "", nil, errRateLimited
		}
		return addr, "", nil, err
	}
	final, err := n.challenge(serverFirst)
	if err != nil {
		return addr, "", nil, err
	}
	serverFinal, err := srv.Step(final)
	if err != nil {
		return addr, "", nil, err
	}
	return addr, srv.Authzid(), serverFinal, nil
}

// challenge sends a challenge and reads the client's response, in the
// current exchange's profile (RFC 6120 or XEP-0388: the same elements in
// another namespace).
func (n *negotiation) challenge(data []byte) ([]byte, error) {
	ns := nsSASL
	if n.sasl2 {
		ns = nsSASL2
	}
	out := "<challenge xmlns='" + ns + "'>" + base64.StdEncoding.EncodeToString(data) + "</challenge>"
	if err := n.t.write([]byte(out)); err != nil {
		return nil, err
	}
	el, err := n.t.next()
	if err != nil {
		return nil, err
	}
	if el.start.Name.Space != ns {
		return nil, newStreamError(condNotAuthorized, "SASL exchange interrupted")
	}
	switch el.start.Name.Local {
	case "abort":
		return nil, errAborted
	case "response":
		data, err := textOf(el)
		if err != nil {
			return nil, fmt.Errorf("response: %w", scram.ErrMalformed)
		}
		return decode64(data)
	}
	return nil, newStreamError(condNotAuthorized, "SASL exchange interrupted")
}

// decode64 decodes SASL data, where "=" is an empty response.
func decode64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("base64: %w", scram.ErrMalformed)
	}
	return b, nil
}
