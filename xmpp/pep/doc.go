// Package pep implements XEP-0163 Personal Eventing Protocol with XEP-0223
// publish-options on every account: publish (auto-creating the node),
// retract, items (all, by id, max_items), node deletion and configuration
// (access model and max_items), and +notify
// delivery as XEP-0115 entity capabilities filter it.
//
// The server learns a session's capabilities from its presence: an unknown
// verification string is asked for with disco#info from the account's bare
// address and cached; known ones are used at once. When a session's
// +notify set becomes known, it receives the last item of each node it is
// interested in from its own account and from every contact whose presence
// it sees; a contact whose subscription the owner approves gets them too
// (OnSubscribed).
//
// Access models: "presence" (the default: the owner and contacts with a
// from or both subscription), "open" (anyone may retrieve items) and
// "whitelist" (the owner only; the whitelist is always empty).
// Notifications go to the owner's sessions and, unless the node is
// whitelist, to sessions of contacts with a from or both subscription.
//
//	svc := pep.New(store, peers, time.Now, log, pep.DefaultLimits())
//	mux := feature.NewMux(svc.Handle())
//	svc.OnPresence(ctx, sess, &st) // available presence from a client
//	if svc.OnResult(ctx, sess, &st) { return } // IQ results to the account
package pep
