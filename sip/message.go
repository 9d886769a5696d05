package sip

import (
	"context"
	"fmt"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// handleMessage takes a pager-mode MESSAGE (RFC 3428) into the hub, which
// delivers it to the recipient on any protocol or stores it offline. The
// answer is 200 when the recipient has an available endpoint and 202 when
// the message was stored for later.
//
// Policy: a MESSAGE from outside to a local user needs no credentials; one
// whose From is a local user needs that user's digest credentials (407,
// then 403 for credentials of another user); anything for another domain
// is refused without them and, as federation does not exist yet, with
// them too (501).
func (s *Server) handleMessage(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
	if err := checkRequire(req); err != nil {
		return err
	}
	recipient := req.Recipient
	if s.isSelf(&recipient) || recipient.User == "" {
		recipient = req.To().Address // sent to our address: the To names the user
	}
	from, fromErr := sipmap.ParseURI(req.From().Address.String())
	fromLocal := fromErr == nil && s.isLocalDomain(from.Domain())
	toLocal := s.isLocalDomain(recipient.Host)
	switch {
	case fromLocal:
		user, err := s.authenticate(ctx, req, proxyAuth, from.Domain())
		if err != nil {
			return err
		}
		if user != from.Bare() {
			return &StatusError{Code: 403, Reason: "Forbidden (From is not the authenticated user)", Err: crosstalk.ErrNotAuthorized}
		}
	case !toLocal:
		return &StatusError{Code: 403, Reason: "Forbidden (relaying for other domains is not allowed)", Err: crosstalk.ErrForbidden}
	}
	if fromErr != nil {
		return fmt.Errorf("MESSAGE from: %w", fromErr)
	}
	// Each URI is written and mapped to an address once: sipgo allocates
	// as it writes one, and the mapping parses it again.
	toAddr, toErr := sipmap.ParseURI(recipient.String())
	if fromLocal && toErr == nil && s.hub.IsRoomService(toAddr) {
		return s.handleRoomMessage(ctx, req, tx, from, toAddr) // a SIP occupant (room.go)
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	gruuAOR, gruuBinding, isGRUU := s.gruuTarget(&recipient)
	if isGRUU {
		if gruuBinding == nil {
			return statusErr(480, "Temporarily Unavailable (GRUU not registered)")
		}
		to, err := gruuAOR.SIPURI()
		if err != nil {
			return fmt.Errorf("MESSAGE to GRUU: %w", err)
		}
		toAddr, toErr = sipmap.ParseURI(to)
	}
	if toErr != nil {
		return fmt.Errorf("MESSAGE: to: %w", toErr)
	}
	m := sipmap.MessageFromAddresses(from, toAddr, sipmap.Inbound{
		CallID:      callID(req),
		ContentType: ct,
		Body:        req.Body(),
		Subject:     headerValue(req, "Subject"),
	})
	if m.To.Local() == "" {
		return statusErr(404, "Not Found")
	}
	if isGRUU {
		m.To = gruuBinding.addr // RFC 5627: that instance's endpoint only
	}
	offline := toLocal && len(s.hub.PresenceOf(m.To.Bare())) == 0
	if err := s.hub.RouteMessage(ctx, &m); err != nil {
		return fmt.Errorf("MESSAGE from %s to %s: %w", m.From, m.To, err)
	}
	if offline {
		return s.respond(tx, req, 202, "Accepted")
	}
	return s.respond(tx, req, 200, "OK")
}
