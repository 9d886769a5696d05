// Package xcap serves XCAP (RFC 4825) documents that are views of the core
// roster and blocklist, as an http.Handler:
//
//   - resource-lists (RFC 4826): the roster as one list named "roster",
//     its groups as sub-lists;
//   - rls-services (RFC 4826 §4): one buddy-list service URI per account,
//     referring to that list (read-only);
//   - pres-rules (RFC 5025 on RFC 4745): allow for the contacts that see
//     the account (from/both or pre-approved), confirm for waiting
//     requests, block for the blocklist;
//   - xcap-caps (RFC 4825 §12), the server's capabilities.
//
// Documents, elements and attributes are selected with RFC 4825 §6 node
// selectors (positions, attribute tests, namespace prefixes bound in the
// query). GET, PUT and DELETE carry ETags derived from the roster version
// and the document, with If-Match and If-None-Match (412). Users
// authenticate with HTTP digest (RFC 7616, SHA-256 or MD5, qop=auth)
// against the stored HA1 values of their account's realm, and see only
// their own documents (403).
//
// Nothing is stored here: a PUT or DELETE is turned into hub calls
// (SetRosterItem, RemoveRosterItem, Block, Unblock, and subscription
// approvals as presence of type subscribed/unsubscribed), so every change
// reaches the XMPP roster and SIP presence alike, and a change from any
// protocol changes the documents and their ETags. A request that fails
// (409 with the RFC 4825 §11 error body, 413, 412, …) changes nothing.
//
// Usage, in cmd/crosstalk:
//
//	x, err := xcap.New(xcap.Defaults(), hub, store, decode, log)
//	httpHandler.Handle("/xcap-root/", x)
//
// where decode wraps internal/xmlguard's Decode (see DecodeFunc). Failed
// logins are counted per source and account (429 past the limit).
package xcap
