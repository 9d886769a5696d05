// Package crosstalk is the protocol-neutral core of the Crosstalk server.
//
// It owns the values every frontend maps its protocol onto — [Address],
// [Account], [Roster], [Presence], [Message], [Room] — the [Hub] that routes
// events between live [Endpoint]s, fans out presence and keeps offline
// messages, and the storage interfaces ([Store]) that the packages under
// store/ implement.
//
// The core knows no protocol: nothing here mentions a stanza, a SIP header
// or SQL. An XMPP session and a SIP registration binding are both endpoints
// bound to the hub under a full address, so one account is one person on
// both protocols.
//
// Addresses follow RFC 7622 (PRECIS) and map to SIP URIs per RFC 7247 with
// XEP-0106 escaping; subscriptions follow the state machine of RFC 6121
// Appendix A; routing to bare addresses follows RFC 6121 §8.5.
//
// A minimal use:
//
//	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}}, store, logger)
//	addr, err := hub.Bind(ctx, endpoint)
//	err = hub.RouteMessage(ctx, &crosstalk.Message{From: addr, To: bob, Type: crosstalk.MessageChat, Body: "hi"})
package crosstalk
