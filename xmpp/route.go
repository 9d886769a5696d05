package xmpp

import (
	"bytes"
	"context"
	"errors"
	"strconv"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/carbons"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/last"
	"github.com/crosstalk-im/crosstalk/xmpp/muc"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// handle takes one top-level element from a bound client. Errors it
// returns end the stream; stanza-level problems are answered with stanza
// errors instead.
func (s *session) handle(ctx context.Context, el element) error {
	switch el.start.Name.Space {
	case nsCSI:
		return s.onCSI(el.start.Name.Local)
	case nsSM:
		return s.onSM(el)
	}
	if el.start.Name.Space != nsClient {
		return newStreamError(condUnsupportedStanza, "<"+el.start.Name.Local+"/> in "+el.start.Name.Space)
	}
	// The reader's decoder has checked the element and found its parts:
	// no second parse.
	st, err := xmppmap.NewStanza(el.start, el.inner)
	if err != nil {
		return newStreamError(condUnsupportedStanza, err.Error())
	}
	st.SetChildTexts(el.texts)
	if el.children != nil {
		st.SetChildren(el.children)
	}
	s.sm.counted()
	// RFC 6120 §8.1.2.1: the server stamps the full address of the session.
	st.SetAttr("from", s.addr.String())
	switch st.Name {
	case "message":
		s.onMessage(ctx, &st)
	case "presence":
		s.onPresence(ctx, &st)
	case "iq":
		s.onIQ(ctx, &st)
	}
	return nil
}

// stanzaErrorReply renders the error answer to a message or presence.
func stanzaErrorReply(st *xmppmap.Stanza, e *feature.Error) []byte {
	reply := xmppmap.Stanza{Name: st.Name}
	reply.SetAttr("from", st.Attr("to"))
	reply.SetAttr("to", st.Attr("from"))
	reply.SetAttr("id", st.Attr("id"))
	reply.SetAttr("type", "error")
	reply.Inner = []byte(e.XML())
	return reply.Bytes()
}

func (s *session) onMessage(ctx context.Context, st *xmppmap.Stanza) {
	m, err := xmppmap.ToMessage(st)
	if err != nil {
		if st.Attr("type") != "error" {
			s.reply(stanzaErrorReply(st, stanzaError(err)))
		}
		return
	}
	m.From = s.addr
	if m.To.IsZero() { // RFC 6120 §8.1.1.1: to the account itself
		m.To = s.addr.Bare()
	}
	if s.srv.hub.IsRoomService(m.To) { // XEP-0359 §3.1: no stanza-id may claim to be the room's
		if m.Native.Payload, err = xmppmap.StripStanzaIDs(m.Native.Payload, m.To.Bare().String()); err != nil {
			s.reply(stanzaErrorReply(st, feature.BadRequest(err.Error())))
			return
		}
	}
	if s.srv.hub.IsRoomService(m.To) && muc.IsInvite(&m, st) { // XEP-0045 §7.8.2
		if err := muc.Invite(ctx, s.srv.hub, s.addr, m.To, st); err != nil {
			s.reply(stanzaErrorReply(st, stanzaError(err)))
		}
		return
	}
	if s.srv.hub.IsRoomService(m.To) && muc.IsRoomRequest(&m, st) { // XEP-0045 §7.8.2 declines, §7.13 voice requests
		if err := muc.RoomRequest(ctx, s.srv.hub, s.addr, m.To, st); err != nil {
			s.reply(stanzaErrorReply(st, stanzaError(err)))
		}
		return
	}
	if err := s.srv.hub.RouteMessage(ctx, &m); err != nil {
		s.log.Debug().Err(err).Str("to", m.To.String()).Msg("message not delivered")
		if m.Type == crosstalk.MessageError {
			return
		}
		if s.srv.hub.IsRoomService(m.To) {
			err = muc.MessageError(ctx, s.srv.hub, s.addr, m.To, err) // XEP-0045 §7.4
		}
		e := stanzaError(err)
		if errors.Is(err, crosstalk.ErrForbidden) && !s.srv.hub.IsRoomService(m.To) { // XEP-0191 §3.5: do not reveal a block
			e = feature.ServiceUnavailable()
		}
		s.reply(stanzaErrorReply(st, e))
		return
	}
	s.srv.carbonsSent(s, &m)
}

func (s *session) onPresence(ctx context.Context, st *xmppmap.Stanza) {
	p, err := xmppmap.ToPresence(st)
	if err != nil {
		e := feature.BadRequest(err.Error())
		if errors.Is(err, crosstalk.ErrInvalidAddress) { // a bad JID or room nickname (XEP-0045 §7.2.2)
			e = stanzaError(err)
		}
		if st.Attr("type") != "error" {
			s.reply(stanzaErrorReply(st, e))
		}
		return
	}
	p.From = s.addr
	switch p.Type {
	case crosstalk.PresenceSubscribe, crosstalk.PresenceSubscribed, crosstalk.PresenceUnsubscribe, crosstalk.PresenceUnsubscribed:
		if p.To.IsZero() {
			s.reply(stanzaErrorReply(st, feature.BadRequest("a subscription stanza needs a to")))
			return
		}
	case crosstalk.PresenceAvailable, crosstalk.PresenceUnavailable:
		if p.To == s.addr.Bare() || p.To == s.addr {
			p.To = crosstalk.Address{} // presence to oneself is a broadcast
		}
		if p.To.IsZero() && p.Type == crosstalk.PresenceAvailable {
			s.srv.pep.OnPresence(ctx, s, st) // XEP-0163 §4: +notify from XEP-0115 caps
		}
		if p.To.IsZero() && p.Type == crosstalk.PresenceUnavailable {
			last.Unavailable(s, p.Status) // XEP-0012 §4
		}
	}
	if err := s.srv.hub.SetPresence(ctx, &p); err != nil {
		s.log.Debug().Err(err).Msg("presence not handled")
		switch {
		case p.Join != nil && s.srv.hub.IsRoomService(p.To): // XEP-0045 §7.2: a join error names the muc namespace
			s.reply(muc.JoinError(st, stanzaError(err)))
		case !p.To.IsZero() && p.Type != crosstalk.PresenceError:
			s.reply(stanzaErrorReply(st, stanzaError(err)))
		}
	} else if p.Type == crosstalk.PresenceSubscribed {
		s.srv.pep.OnSubscribed(ctx, s.addr.Bare(), p.To) // XEP-0163: a new subscriber gets the last items
	}
}

func (s *session) onIQ(ctx context.Context, st *xmppmap.Stanza) {
	typ, id := st.Attr("type"), st.Attr("id")
	_, to, err := xmppmap.Addresses(st)
	if err != nil {
		if typ == "get" || typ == "set" {
			s.reply(iqError(st, "", stanzaError(err)))
		}
		return
	}
	switch typ {
	case "result", "error":
		if (to.IsZero() || to == s.addr.Bare()) && s.srv.pep.OnResult(ctx, s, st) {
			return
		}
		if !to.IsZero() && !to.IsBare() && s.srv.hub.IsRoomService(to) { // XEP-0045 §17.4: an answer to an occupant
			if err := muc.ProxyIQ(ctx, s.srv.hub, s.addr, to, st); err != nil {
				s.log.Debug().Err(err).Msg("IQ response to an occupant not delivered")
			}
			return
		}
		if !to.IsZero() && (!to.IsBare() || s.srv.hub.IsServiceDomain(to.Domain())) { // a full address, or a component (XEP-0114)
			q := &crosstalk.Query{ID: id, From: s.addr, To: to, Type: queryType(typ),
				Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: st.Bytes()}}
			if err := s.srv.hub.RouteQuery(ctx, q); err != nil {
				s.log.Debug().Err(err).Msg("IQ response not delivered")
			}
		}
		return
	case "get", "set":
	default:
		s.reply(iqError(st, "", feature.BadRequest("IQ type must be get, set, result or error")))
		return
	}
	if id == "" {
		s.reply(iqError(st, "", feature.BadRequest("IQ without id")))
		return
	}
	children, err := st.Children()
	if err != nil || len(children) != 1 {
		s.reply(iqError(st, st.Attr("to"), feature.BadRequest("a get or set IQ carries exactly one child")))
		return
	}
	roomService := !to.IsZero() && s.srv.hub.IsRoomService(to)
	if !roomService && (!to.IsZero() && !to.IsBare() || !s.srv.hub.IsLocal(to) && !to.IsZero()) {
		q := &crosstalk.Query{ID: id, From: s.addr, To: to, Type: queryType(typ),
			Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: st.Bytes()}}
		if err := s.srv.hub.RouteQuery(ctx, q); err != nil {
			e := stanzaError(err)
			if errors.Is(err, crosstalk.ErrNotFound) || errors.Is(err, crosstalk.ErrEndpointClosed) {
				e = feature.ServiceUnavailable() // RFC 6120 §8.5.3.1
			}
			s.reply(iqError(st, st.Attr("to"), e))
		}
		return
	}
	target := feature.Server | feature.Own
	switch {
	case roomService && !to.IsBare():
		target = feature.Occupant
	case roomService && to.Local() == "":
		target = feature.RoomService
	case roomService:
		target = feature.Room
	case to.IsZero():
	case to.Local() == "":
		target = feature.Server
	case to == s.addr.Bare():
		target = feature.Own | feature.Account
	default:
		target = feature.Account
	}
	child := children[0]
	h, ok := s.srv.mux.Lookup(child.XMLName.Space, child.XMLName.Local, typ, target)
	if !ok && target == feature.Occupant { // XEP-0045 §17.4: relayed to the occupant
		if err := muc.ProxyIQ(ctx, s.srv.hub, s.addr, to, st); err != nil {
			s.reply(iqError(st, st.Attr("to"), stanzaError(err)))
		}
		return
	}
	if !ok {
		s.reply(iqError(st, st.Attr("to"), feature.ServiceUnavailable()))
		return
	}
	result, err := h(ctx, feature.IQ{ID: id, Type: typ, From: s.addr, To: to, Payload: child, Session: s})
	if err != nil {
		e := stanzaError(err)
		if e.Condition == "internal-server-error" {
			s.log.Error().Err(err).Str("payload", child.XMLName.Space).Msg("IQ handler failed")
		}
		s.reply(iqError(st, st.Attr("to"), e))
		return
	}
	reply := xmppmap.Stanza{Name: "iq"}
	reply.SetAttr("from", st.Attr("to"))
	reply.SetAttr("to", s.addr.String())
	reply.SetAttr("id", id)
	reply.SetAttr("type", "result")
	reply.Inner = result
	s.reply(reply.Bytes())
}

func queryType(t string) crosstalk.QueryType {
	switch t {
	case "set":
		return crosstalk.QuerySet
	case "result":
		return crosstalk.QueryResult
	case "error":
		return crosstalk.QueryError
	default:
		return crosstalk.QueryGet
	}
}

// render writes one hub event as XML for this session's client.
func (s *session) render(b *bytes.Buffer, ev crosstalk.Event) {
	switch e := ev.(type) {
	case *crosstalk.Message:
		if e.SentCopy { // sent by this account from another protocol (a phone): a sent carbon, XEP-0280 §7
			if carbons.Enabled(s) && carbons.Eligible(e) {
				s.flushHeld(b)
				s.emit(b, carbons.Wrap("sent", s.addr.Bare(), s.addr, e), e)
			}
			return
		}
		if e.ReceivedCopy { // received by this account on another protocol only (a phone): a received carbon, XEP-0280 §6
			if carbons.Enabled(s) && carbons.Eligible(e) {
				s.flushHeld(b)
				s.emit(b, carbons.Wrap("received", s.addr.Bare(), s.addr, e), e)
			}
			return
		}
		s.flushHeld(b)
		s.emit(b, xmppmap.FromMessage(e), e) // Delayed ones carry XEP-0203 <delay/> (XEP-0160 §3)
		s.srv.carbonsReceived(s, e)
	case *crosstalk.Presence:
		out := xmppmap.FromPresence(e, s.addr)
		if !s.hold(e, out) {
			s.emit(b, out, e)
		}
	case *crosstalk.RosterPush:
		if !e.Removed && !xmppmap.RosterVisible(e.Item) {
			return
		}
		push := "<iq type='set' id='push" + strconv.FormatUint(s.srv.pushSeq.Add(1), 10) + "' to='" + xmppmap.Escape(s.addr.String()) + "'>" +
			string(xmppmap.RosterPush(e)) + "</iq>"
		s.emit(b, []byte(push), e)
	case *crosstalk.Query:
		if e.Native.Protocol == crosstalk.ProtocolXMPP {
			s.emit(b, e.Native.Payload, e)
		}
	}
}
