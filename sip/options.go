package sip

import (
	"context"

	sipmsg "github.com/emiago/sipgo/sip"
)

// handleOptions answers OPTIONS addressed to this server (RFC 3261 §11)
// with what it supports; OPTIONS for a user goes through the proxy.
func (s *Server) handleOptions(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
	if req.Recipient.User != "" || req.Route() != nil {
		return s.proxyChain()(ctx, req, tx)
	}
	if !s.isSelf(&req.Recipient) && !s.isLocalDomain(req.Recipient.Host) {
		return s.proxyChain()(ctx, req, tx)
	}
	return s.respond(tx, req, 200, "OK",
		sipmsg.NewHeader("Allow", allowed),
		sipmsg.NewHeader("Accept", "text/plain, application/sdp, */*"),
		sipmsg.NewHeader("Supported", "path, outbound, gruu"))
}
