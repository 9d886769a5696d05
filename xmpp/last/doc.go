// Package last answers XEP-0012 Last Activity: for the server, its uptime;
// for an account, 0 seconds while it has an available resource, otherwise
// the seconds since its last session ended and the status of its last
// unavailable presence, to the account itself and to contacts that see its
// presence. The session code calls Unavailable and Ended to record it.
//
//	mux := feature.NewMux(last.Handle(started, time.Now), last.HandleAccounts(store, hub, time.Now))
//	last.Unavailable(sess, status) // unavailable broadcast presence
//	last.Ended(ctx, store, sess, time.Now()) // when the session ends
package last
