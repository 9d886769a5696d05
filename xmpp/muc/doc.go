// Package muc serves XEP-0045 Multi-User Chat over the hub's room service
// (crosstalk.Hub, design 002): the rooms, their occupants and permissions
// are the core's, shared with SIP occupants; this package maps the XMPP
// requests onto them.
//
//   - Service discovery (XEP-0030): the service (conference/text, with
//     http://jabber.org/protocol/muc, urn:xmpp:occupant-id:0 and
//     urn:xmpp:mam:2), the public room list, and each room's muc_*
//     features with a muc#roominfo form (XEP-0128).
//   - muc#admin (§8–§10): affiliation lists for admins and owners, role
//     lists for moderators; role changes by nickname (kick, voice,
//     moderator) and affiliation changes by JID or nickname (ban, member,
//     admin, owner).
//   - muc#owner (§10): the muc#roomconfig form, instant-room acceptance by
//     an empty submit, configuration (announced to the occupants with
//     status 104, 172, 173), cancel, destroy.
//   - IQs between occupants (§17.4) relayed with room/nick addresses both
//     ways (ProxyIQ).
//   - Self-ping (XEP-0410): a ping to one's own room/nick is answered by the
//     room while the sender is joined, not-acceptable otherwise.
//   - Voice requests (§7.13) relayed to the moderators as a form, and their
//     approval (§8.6) applied.
//   - Mediated invitations and declines (§7.8.2) relayed from the room;
//     direct invitations (XEP-0249) are ordinary messages and need nothing.
//   - JoinError and MessageError give join and groupchat refusals their
//     XEP-0045 form and condition.
//
// Joining, leaving, nickname changes, groupchat and private messages are
// presence and message stanzas that package xmpp hands to the hub
// (SetPresence, RouteMessage); xmppmap reads the join's <x xmlns='…muc'/>
// into Presence.Join and renders muc#user presence and XEP-0421
// occupant-ids. The room archive (XEP-0313) is xmpp/mam's.
//
// Package xmpp assembles the registrations with the others:
//
//	mux := feature.NewMux(muc.Handle(hub))
package muc
