// Package roster serves the roster of RFC 6121 §2 through the hub: get
// with versioning (XEP-0237), set and remove; pushes come from the hub as
// crosstalk.RosterPush events.
//
//	mux := feature.NewMux(roster.Handle(hub))
package roster
