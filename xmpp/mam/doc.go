// Package mam implements XEP-0313 Message Archive Management (urn:xmpp:mam:2)
// for one-to-one archives kept by the hub (crosstalk.Archive): the query
// form, filtering by with/start/end, RSM paging (XEP-0059: max, after,
// before) and the results as forwarded messages (XEP-0297) with their
// archive time (XEP-0203). An empty <before/> asks for the newest page.
//
//	mux := feature.NewMux(mam.Handle(hub))
package mam
