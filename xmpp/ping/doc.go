// Package ping answers XEP-0199 XMPP Ping addressed to the server.
//
//	mux := feature.NewMux(ping.Handle())
package ping
