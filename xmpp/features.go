package xmpp

import (
	"context"
	"strings"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/blocking"
	"github.com/crosstalk-im/crosstalk/xmpp/carbons"
	"github.com/crosstalk-im/crosstalk/xmpp/disco"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/last"
	"github.com/crosstalk-im/crosstalk/xmpp/mam"
	"github.com/crosstalk-im/crosstalk/xmpp/muc"
	"github.com/crosstalk-im/crosstalk/xmpp/ping"
	"github.com/crosstalk-im/crosstalk/xmpp/roster"
	"github.com/crosstalk-im/crosstalk/xmpp/vcard"
	"github.com/crosstalk-im/crosstalk/xmpp/version"
	"github.com/crosstalk-im/crosstalk/xmpp/xtime"
)

// features assembles the IQ mux, one line per specification; disco comes
// last so that it lists exactly the features registered before it.
func (s *Server) features() *feature.Mux {
	mux := feature.NewMux(
		roster.Handle(s.hub), // RFC 6121 §2, XEP-0237
		sessionIQ(),          // RFC 3921 §3 (legacy, optional)
		ping.Handle(),        // XEP-0199
		version.Handle(s.cfg.SoftwareName, s.cfg.SoftwareVersion), // XEP-0092
		xtime.Handle(s.now),                // XEP-0202
		carbons.Handle(),                   // XEP-0280
		blocking.Handle(s.hub, s.store, s), // XEP-0191
		mam.Handle(s.hub),                  // XEP-0313 (one-to-one)
		last.Handle(s.now(), s.now),        // XEP-0012 (server uptime)
		offlineFeature(),                   // XEP-0160, delivered by the hub at initial presence
		muc.Handle(s.hub),                  // XEP-0045 IQs (rooms are the hub's)

		s.pep.Handle(), // XEP-0163 with XEP-0223 publish-options
		vcard.Handle(s.store, vcard.DefaultMaxSize),                  // XEP-0054
		last.HandleAccounts(lastStore{s.hub, s.store}, s.hub, s.now), // XEP-0012 (accounts)
	)
	mux.Add(disco.Handle(mux, s.store, s.cfg.SoftwareName, s.services)...) // XEP-0030
	return mux
}

// lastStore reads last activity through the hub, which writes it behind
// (Hub.PutLastActivity), and roster items from the store.
type lastStore struct {
	hub   *crosstalk.Hub
	store crosstalk.Store
}

// PutLastActivity records through the hub.
func (l lastStore) PutLastActivity(ctx context.Context, owner crosstalk.Address, la crosstalk.LastActivity) error {
	return l.hub.PutLastActivity(ctx, owner, la)
}

// GetLastActivity reads through the hub, which knows what is not written yet.
func (l lastStore) GetLastActivity(ctx context.Context, owner crosstalk.Address) (crosstalk.LastActivity, error) {
	return l.hub.GetLastActivity(ctx, owner)
}

// GetRosterItem reads the store.
func (l lastStore) GetRosterItem(ctx context.Context, owner, contact crosstalk.Address) (crosstalk.RosterItem, error) {
	return l.store.GetRosterItem(ctx, owner, contact)
}

// Notify renders and queues a stanza for every live session of bare.
func (s *Server) Notify(bare crosstalk.Address, render func(full crosstalk.Address) []byte) {
	for _, sess := range s.local.of(bare.Bare()) {
		if err := sess.trySend(render(sess.addr)); err != nil {
			sess.log.Debug().Err(err).Msg("notification dropped")
		}
	}
}

// sessionIQ answers the legacy session establishment IQ (RFC 3921 §3),
// advertised as optional, with an empty result.
func sessionIQ() []feature.Registration {
	return []feature.Registration{{Space: nsSession, Local: "session", Types: feature.Set, Target: feature.Server | feature.Own,
		Handle: func(_ context.Context, _ feature.IQ) ([]byte, error) { return nil, nil }}}
}

// offlineFeature advertises XEP-0160 offline storage ("msgoffline"): the hub
// stores chat and normal messages for an account with no available
// resource and delivers them at the next initial presence, marked with an
// XEP-0203 delay. It handles no IQ.
func offlineFeature() []feature.Registration {
	return []feature.Registration{{Target: feature.Server, Features: []string{"msgoffline"}}}
}

// services returns the room service of a domain, if the hub runs one there
// (conference.<domain>, as cmd/crosstalk configures it), and the connected
// external components (XEP-0114) whose domains are subdomains of it.
func (s *Server) services(domain string) []string {
	var out []string
	if a, err := crosstalk.NewAddress("", "conference."+domain, ""); err == nil && s.hub.IsRoomService(a) {
		out = append(out, a.String())
	}
	for _, d := range s.hub.BoundDomains() { // connected XEP-0114 components under this domain
		if strings.HasSuffix(d, "."+domain) {
			out = append(out, d)
		}
	}
	return out
}
