// Package last answers XEP-0012 Last Activity for the server: its uptime.
// Accounts are not answered (the store keeps no logout times), so an IQ to
// an account gets <service-unavailable/>.
//
//	mux := feature.NewMux(last.Handle(started, time.Now))
package last
