// Package blocking implements XEP-0191 Blocking Command over the hub's
// blocklists (crosstalk.Hub.Block/Unblock, which keep the routing cache
// right) and the store's Blocklist: get, block and unblock, with pushes to
// every live session of the account.
//
//	mux := feature.NewMux(blocking.Handle(hub, store, notifier))
package blocking
