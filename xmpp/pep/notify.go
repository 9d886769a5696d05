package pep

import (
	"context"
	"encoding/xml"
	"strings"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/disco"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Session state keys.
const (
	notifyKey  = "pep.notify"  // map[string]bool: nodes with +notify
	verKey     = "pep.ver"     // string: the verification string advertised
	queryKey   = "pep.query"   // capsQuery: the disco#info asked of the client
	startedKey = "pep.started" // bool: last items were sent
)

// capsQuery is a disco#info request to a client's capabilities.
type capsQuery struct {
	id, ver, hash string
}

// message renders an event notification to a full address.
func (s *Service) message(from, to crosstalk.Address, event []byte) []byte {
	return []byte("<message from='" + xmppmap.Escape(from.String()) + "' to='" + xmppmap.Escape(to.String()) +
		"' type='headline' id='" + s.nextID("pep-") + "'><event xmlns='" + NSEvent + "'>" + string(event) + "</event></message>")
}

// wants reports whether a session's capabilities ask for node's events.
func wants(p interface{ Get(string) any }, node string) bool {
	set, _ := p.Get(notifyKey).(map[string]bool)
	return set[node]
}

// notify sends an event of node n to the owner's sessions and to those of
// contacts allowed to see the owner's presence, when they want it.
func (s *Service) notify(ctx context.Context, n crosstalk.PEPNode, event []byte) {
	recipients := []crosstalk.Address{n.Owner}
	if n.Access != AccessWhitelist {
		r, err := s.store.GetRoster(ctx, n.Owner)
		if err != nil {
			s.log.Warn().Err(err).Str("owner", n.Owner.String()).Msg("no roster for notifications")
		}
		for _, it := range r.Items {
			if it.SeesOwner() {
				recipients = append(recipients, it.Contact)
			}
		}
	}
	for _, bare := range recipients {
		for _, p := range s.peers.Peers(bare) {
			if !wants(p, n.Node) {
				continue
			}
			if err := p.TrySend(s.message(n.Owner, p.Addr(), event)); err != nil {
				s.log.Debug().Err(err).Str("to", p.Addr().String()).Msg("notification dropped")
			}
		}
	}
}

type capsEl struct {
	Hash string `xml:"hash,attr"`
	Node string `xml:"node,attr"`
	Ver  string `xml:"ver,attr"`
}

// OnPresence takes an available broadcast presence from sess's client: it
// learns the session's +notify set from its XEP-0115 capabilities, asking
// the client with disco#info when the verification string is new, and
// sends the last items once the set is known.
func (s *Service) OnPresence(ctx context.Context, sess feature.Session, st *xmppmap.Stanza) {
	children, _ := st.Children()
	var c *capsEl
	for _, ch := range children {
		if ch.XMLName.Space == disco.NSCaps && ch.XMLName.Local == "c" {
			c = &capsEl{Hash: ch.Attr("hash"), Node: ch.Attr("node"), Ver: ch.Attr("ver")}
		}
	}
	if c == nil || c.Ver == "" {
		return
	}
	if old, _ := sess.Get(verKey).(string); old == c.Ver {
		return
	}
	sess.Set(verKey, c.Ver)
	s.mu.Lock()
	set, ok := s.caps[c.Ver]
	s.mu.Unlock()
	if ok {
		s.learned(ctx, sess, set)
		return
	}
	q := capsQuery{id: s.nextID("caps-"), ver: c.Ver, hash: c.Hash}
	sess.Set(queryKey, q)
	_ = sess.Send([]byte("<iq type='get' id='" + q.id + "' from='" + xmppmap.Escape(sess.Addr().Bare().String()) + "' to='" +
		xmppmap.Escape(sess.Addr().String()) + "'><query xmlns='" + disco.NSInfo + "' node='" + xmppmap.Escape(c.Node+"#"+c.Ver) + "'/></iq>"))
}

type discoResult struct {
	Identities []struct {
		Category string `xml:"category,attr"`
		Type     string `xml:"type,attr"`
		Lang     string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
		Name     string `xml:"name,attr"`
	} `xml:"query>identity"`
	Features []struct {
		Var string `xml:"var,attr"`
	} `xml:"query>feature"`
}

// OnResult takes an IQ result or error sent by sess's client to the
// server or to its own account; it reports whether it was the answer to
// a capabilities query.
func (s *Service) OnResult(ctx context.Context, sess feature.Session, st *xmppmap.Stanza) bool {
	q, ok := sess.Get(queryKey).(capsQuery)
	if !ok || st.Attr("id") != q.id {
		return false
	}
	sess.Set(queryKey, nil)
	if st.Attr("type") != "result" {
		return true
	}
	var r discoResult
	if err := xml.Unmarshal(st.Bytes(), &r); err != nil {
		s.log.Debug().Err(err).Msg("unreadable capabilities")
		return true
	}
	set := make(map[string]bool)
	var features []string
	for _, f := range r.Features {
		features = append(features, f.Var)
		if node, ok := strings.CutSuffix(f.Var, "+notify"); ok {
			set[node] = true
		}
	}
	ids := make([]disco.Identity, 0, len(r.Identities))
	for _, id := range r.Identities {
		ids = append(ids, disco.Identity{Category: id.Category, Type: id.Type, Lang: id.Lang, Name: id.Name})
	}
	// Only a verified string is cached for other sessions (XEP-0115 §5.4).
	if q.hash == "sha-1" && disco.Ver(ids, features) == q.ver {
		s.mu.Lock()
		if len(s.caps) >= s.limits.MaxCaps {
			clear(s.caps)
		}
		s.caps[q.ver] = set
		s.mu.Unlock()
	}
	if cur, _ := sess.Get(verKey).(string); cur == q.ver {
		s.learned(ctx, sess, set)
	}
	return true
}

// learned sets a session's +notify set; the first time, it sends the last
// item of each wanted node of the account and of its contacts.
func (s *Service) learned(ctx context.Context, sess feature.Session, set map[string]bool) {
	sess.Set(notifyKey, set)
	if started, _ := sess.Get(startedKey).(bool); started || len(set) == 0 {
		return
	}
	sess.Set(startedKey, true)
	me := sess.Addr().Bare()
	owners := []crosstalk.Address{me}
	r, err := s.store.GetRoster(ctx, me)
	if err != nil {
		s.log.Warn().Err(err).Str("jid", me.String()).Msg("no roster for last items")
	}
	for _, it := range r.Items {
		if it.OwnerSees() {
			owners = append(owners, it.Contact)
		}
	}
	for _, owner := range owners {
		s.sendLast(ctx, owner, sess.Addr(), set, func(b []byte) error { return sess.Send(b) })
	}
}

// sendLast sends to one session the last item of each node of owner the
// session wants and may see.
func (s *Service) sendLast(ctx context.Context, owner, to crosstalk.Address, set map[string]bool, send func([]byte) error) {
	nodes, err := s.store.ListPEPNodes(ctx, owner)
	if err != nil {
		s.log.Warn().Err(err).Str("owner", owner.String()).Msg("no PEP nodes")
		return
	}
	for _, n := range nodes {
		if !set[n.Node] || (n.Access == AccessWhitelist && owner != to.Bare()) {
			continue
		}
		items, err := s.store.PEPItems(ctx, owner, n.Node, nil, 1)
		if err != nil || len(items) == 0 {
			continue
		}
		if err := send(s.message(owner, to, itemsEvent(n.Node, items))); err != nil {
			s.log.Debug().Err(err).Str("to", to.String()).Msg("last item dropped")
		}
	}
}

// OnSubscribed sends the last items of owner's nodes to the live sessions
// of contact that want them, after owner approved contact's subscription
// (XEP-0060 §7.1.2.2 via XEP-0163: a new subscriber gets the last item).
func (s *Service) OnSubscribed(ctx context.Context, owner, contact crosstalk.Address) {
	it, err := s.store.GetRosterItem(ctx, owner, contact.Bare())
	if err != nil || !it.SeesOwner() {
		return
	}
	for _, p := range s.peers.Peers(contact.Bare()) {
		set, _ := p.Get(notifyKey).(map[string]bool)
		if len(set) > 0 {
			s.sendLast(ctx, owner, p.Addr(), set, p.TrySend)
		}
	}
}
