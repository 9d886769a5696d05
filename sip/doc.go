// Package sip is Crosstalk's SIP frontend, built on sipgo: UDP, TCP and TLS
// listeners (RFC 3261 §18), a validation layer that refuses malformed
// requests before any routing (RFC 3261 §8.2 and §16.3, the RFC 4475
// torture cases), a registrar (RFC 3261 §10) with server digest
// authentication (RFC 3261 §22, RFC 7616, RFC 8760: SHA-256 offered before
// MD5), Path (RFC 3327), outbound basics (RFC 5626), GRUUs (RFC 5627), pager-mode MESSAGE
// (RFC 3428) through the core hub, and a transaction-stateful forking proxy
// (RFC 3261 §16) between local users. SIP over WebSocket (RFC 7118) is served
// on the HTTPS listener through Server.WebSocket.
//
// Every registration binding is a hub endpoint with a resource of its own,
// so a message from XMPP reaches a SIP phone and back through the same
// routing as XMPP resources.
//
// SIP users are occupants of the core's rooms (room.go): a MESSAGE to
// sip:room@conference.<domain> joins and posts, and room traffic comes back
// as MESSAGE from the room's URI with the sender's nickname.
//
// SIP presence (SIMPLE, presence_*.go) is a view of the core: SUBSCRIBE and
// NOTIFY (RFC 6665) for presence (RFC 3856, PIDF/RPID from sip/sipmap),
// authorised by the roster's RFC 6121 state machine; PUBLISH (RFC 3903),
// each publication a presence-only hub endpoint; presence.winfo (RFC 3857,
// RFC 3858); and resource lists (RFC 4662) over the roster. The server
// observes the hub (crosstalk.PresenceObserver) to notify changes.
//
// Usage:
//
//	srv, err := sip.New(cfg, hub, store, log)
//	if err != nil { … }
//	if err := srv.Start(ctx); err != nil { … } // listens on cfg.UDP, cfg.TCP, cfg.TLS
//	defer srv.Shutdown(context.Background())
//
// Requests are dispatched per method (sipgo's OnRequest); each handler is
// wrapped in an ordered chain of middlewares (recover → size and rate limit
// → validation) and the proxy is its own ordered chain (authenticate →
// loose-route → local lookup → out-of-domain refusal). Errors that reach the
// edge are mapped to status codes by one table (see StatusFor) and logged
// once there.
package sip
