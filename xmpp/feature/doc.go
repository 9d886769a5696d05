// Package feature is the small contract between the c2s session (package
// xmpp) and the packages that implement one XEP family each: an IQ handler
// registry (Mux) whose entries also feed service discovery (XEP-0030), so
// that disco advertises exactly what is handled, and the stanza error type
// handlers return (RFC 6120 §8.3).
//
// A feature package exports a function returning Registrations:
//
//	func Handle() []feature.Registration {
//		return []feature.Registration{{Space: "urn:xmpp:ping", Local: "ping",
//			Types: feature.Get, Target: feature.Server, Features: []string{"urn:xmpp:ping"},
//			Handle: func(ctx context.Context, iq feature.IQ) ([]byte, error) { return nil, nil }}}
//	}
//
// and package xmpp assembles them into one Mux; an IQ no registration takes
// is answered <service-unavailable/>.
package feature
