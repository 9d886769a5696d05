// Package sipmap maps between SIP and the core's protocol-neutral values:
// a pager-mode MESSAGE (RFC 3428) to and from a crosstalk.Message, with the
// SIP body and Content-Type kept as Native so that SIP→SIP loses nothing,
// and sip:/sips: URIs to addresses (RFC 7247 §5, by the core's ParseSIPURI).
// It is pure: no I/O, no sipgo types, fuzzed with committed corpora.
//
// It also sanitises what it maps out of the core: anything that ends up in
// a SIP header (display names, subjects) loses control characters, so a
// value from XMPP cannot inject a header (CR, LF) or break quoting.
package sipmap
