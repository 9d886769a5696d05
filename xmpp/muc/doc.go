// Package muc serves XEP-0045 Multi-User Chat over the hub's room service:
// service discovery of the room service and its rooms, moderation and
// affiliations (muc#admin), owner configuration and destruction
// (muc#owner), and mediated invitations (§7.8.2). Joining, leaving,
// groupchat and private messages are presence and message stanzas that
// package xmpp hands to the hub directly (xmppmap renders the muc#user
// elements).
//
//	mux := feature.NewMux(muc.Handle(hub))
package muc
