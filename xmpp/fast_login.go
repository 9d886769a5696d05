package xmpp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/scram"
)

// fastMechanisms lists the FAST mechanisms offered on this connection,
// channel-bound ones first; none when FAST is off.
func (n *negotiation) fastMechanisms() []string {
	if n.srv.fast == nil || !n.tlsOn {
		return nil
	}
	exporter, endPoint := n.bindingTypes()
	var out []string
	if exporter {
		out = append(out, htExporter)
	}
	if endPoint {
		out = append(out, htEndPoint)
	}
	return append(out, htNone)
}

// fastLogin verifies a login with a FAST token (XEP-0484 §4.4): the same
// limits as a password login, a wrong token counted as a wrong password.
// It returns the account, the HT responder message for <success/>, and
// whether the token is due for rotation. As exchange, a zero address with
// a nil error is a failed attempt, already reported.
func (n *negotiation) fastLogin(ctx context.Context, req sasl2Request, cbType string) (crosstalk.Address, []byte, bool, error) {
	var none crosstalk.Address
	if refused, err := n.refuseLockedSource(); refused {
		return none, nil, false, err
	}
	switch {
	case !slices.Contains(n.fastMechanisms(), req.Mechanism):
		return none, nil, false, n.saslFailure("invalid-mechanism", "", fmt.Errorf("mechanism %q not offered", req.Mechanism))
	case !req.Fast:
		return none, nil, false, n.saslFailure("invalid-mechanism", "a token login needs <fast/>", errors.New("HT mechanism without <fast/>"))
	case req.UserAgent.ID == "":
		return none, nil, false, n.saslFailure("malformed-request", "a token login needs a user-agent id", errors.New("FAST without a user-agent id"))
	}
	i := bytes.IndexByte(req.Initial, 0)
	if i <= 0 || len(req.Initial)-i-1 != sha256.Size {
		return none, nil, false, n.saslFailureFor(none, fmt.Errorf("fast: %w", scram.ErrMalformed))
	}
	user, creds, err := n.account(ctx, string(req.Initial[:i]))
	if err != nil {
		if errors.Is(err, crosstalk.ErrNoSuchAccount) {
			err = fmt.Errorf("fast: %w", scram.ErrAuthFailed)
		}
		return none, nil, false, n.saslFailureFor(user, err)
	}
	var cb []byte
	if cbType != "" {
		if cb = n.bindings()[cbType]; cb == nil {
			return none, nil, false, n.saslRefusal("not-authorized", "channel binding refused", scram.ErrChannelBinding)
		}
	}
	now := n.srv.now()
	res, token, rec, err := n.srv.fast.verify(ctx, fastClient{user, req.UserAgent.ID}, req.Mechanism, cb, req.Initial[i+1:], creds, now, req.Invalidate)
	switch {
	case err != nil: // the store failed: no guess, not counted
		return none, nil, false, n.saslFailure("temporary-auth-failure", "", err)
	case res == fastExpired: // a real token, no longer trusted: no guess, not locked out
		return none, nil, false, n.saslFailure("credentials-expired", "log in with your password", errors.New("fast token expired or credentials changed"))
	case res == fastWrong:
		return none, nil, false, n.saslFailureFor(user, fmt.Errorf("fast: %w", scram.ErrAuthFailed))
	}
	rotate := !req.Invalidate && now.Sub(rec.Issued) > n.srv.cfg.FastTokenLifetime/2
	return user, htProof([]byte(token), "Responder", cb), rotate, nil
}

// fastIssue returns the <token/> for a successful login's <success/>, or
// "": a token for the mechanism the client asked for, or a new one for the
// token just used when it is due for rotation (XEP-0484 §4.5). Tokens are
// scoped to the user-agent id, so a client without one gets none.
func (n *negotiation) fastIssue(ctx context.Context, user crosstalk.Address, req sasl2Request, rotate bool) string {
	mech := req.RequestToken
	if mech == "" && rotate {
		mech = req.Mechanism
	}
	if mech == "" || n.srv.fast == nil || req.UserAgent.ID == "" || !slices.Contains(n.fastMechanisms(), mech) {
		return ""
	}
	acct, err := n.srv.store.GetAccount(ctx, user)
	if err != nil {
		n.log.Warn().Err(err).Msg("no FAST token: account not read")
		return ""
	}
	token, expiry, err := n.srv.fast.issue(ctx, fastClient{user, req.UserAgent.ID}, mech, acct.Credentials, n.srv.now(), n.srv.cfg.FastTokenLifetime)
	if err != nil {
		n.log.Warn().Err(err).Msg("no FAST token: not stored")
		return ""
	}
	return "<token xmlns='" + nsFAST + "' expiry='" + expiry.UTC().Format(time.RFC3339) + "' token='" + token + "'/>"
}
