// Package carbons implements XEP-0280 Message Carbons: a client enables or
// disables carbons for its session, and the session code asks Eligible and
// Wrap to copy one-to-one chat messages to the account's other resources.
//
//	mux := feature.NewMux(carbons.Handle())
//	if carbons.Enabled(other) && carbons.Eligible(&m) { other.Send(carbons.Wrap("sent", bare, other.Addr(), &m)) }
package carbons
