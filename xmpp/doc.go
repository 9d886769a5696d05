// Package xmpp is Crosstalk's XMPP client-to-server frontend (RFC 6120,
// RFC 6121): TCP listeners with STARTTLS and direct TLS (XEP-0368), stream
// negotiation, SASL (SCRAM-SHA-1/256 and their -PLUS variants with
// tls-exporter and tls-server-end-point channel binding, PLAIN under TLS),
// resource binding from the authenticated identity, and a c2s session that
// is a crosstalk.Endpoint of the hub.
//
// Under TLS the same mechanisms are also offered in XEP-0388 SASL2, where
// a client authenticates without a stream restart and may bind its
// resource inside the same exchange with XEP-0386 Bind 2 (carbons, CSI
// and stream management enabled inline, the XEP-0313 archive metadata in
// <bound/>), or resume an XEP-0198 session there instead, and may ask
// for a XEP-0484 FAST token to log in next time in one round trip
// (sasl2.go, bind2.go, fast.go, sm.go). Both profiles share one exchange
// (the failure limits, PLAIN and SCRAM), one binding and one resumption.
//
// mellium.im/xmpp is used as a toolkit only: its server path cannot verify
// SCRAM against stored keys, panics on -PLUS, binds from the unauthenticated
// stream from, and its Serve loop answers IQs it does not understand. The
// negotiation, the read loop (with internal/xmlguard limits) and the
// bounded writer are ours.
//
// Each session has one reader (the connection's goroutine) and one writer
// draining a crosstalk.Mailbox; a client that cannot keep up is closed with
// <policy-violation/> and the hub gets back what it never took.
//
//	srv, err := xmpp.New(cfg, hub, store, log)
//	go srv.Serve(ctx, starttlsListener)
//	go srv.ServeTLS(ctx, directTLSListener)
//	…
//	srv.Shutdown(ctx)
//
// IQ payloads are served by the feature packages (roster, disco, ping,
// version, xtime, carbons, …) assembled in features.go; anything else gets
// <service-unavailable/>.
package xmpp
