// Package vcard implements XEP-0054 vcard-temp: an account sets its own
// vCard and anyone on the server gets any account's vCard (an account
// without one answers an empty <vCard/>). The store keeps the vCard as the
// opaque bytes the client sent, bounded in size.
//
//	mux := feature.NewMux(vcard.Handle(store, vcard.DefaultMaxSize))
package vcard
