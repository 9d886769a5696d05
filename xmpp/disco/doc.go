// Package disco answers XEP-0030 Service Discovery for the server and for
// local accounts. The features it lists are exactly those of the mux's
// registrations for each target, so disco advertises only what is handled.
//
//	mux := feature.NewMux(…)
//	mux.Add(disco.Handle(mux, store, "Crosstalk", services)...)
package disco
