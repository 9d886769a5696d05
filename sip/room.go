package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// SIP occupants of rooms (pager-mode group chat over the core room service,
// docs/design/002-rooms.md). A registered SIP user takes part in the room
// room@conference.<domain> by sending MESSAGE to sip:room@conference.<domain>.
// Everything else is the core's: the room service checks permissions, fans
// out, keeps history and the archive, and takes the occupant out when its
// binding ends (unregister, expiry, unreachable contact). This file only
// maps MESSAGE to and from core room events; it knows nothing of XMPP.
//
// Which binding is the occupant: the binding the MESSAGE came from — the
// one whose Contact matches the request's Contact, else the one registered
// from the request's source address, else the AOR's only binding, else the
// binding with the highest q-value (the most recently registered on a tie).
// Room traffic goes to that binding only.

// nickSuffixes bounds the numeric suffixes tried when the derived nickname
// is taken (bob, bob2, … bob9).
const nickSuffixes = 9

// roomCommandKind is what a MESSAGE to a room asks for.
type roomCommandKind uint8

const (
	roomSay     roomCommandKind = iota // an ordinary groupchat message
	roomNick                           // /nick NAME
	roomLeave                          // /leave
	roomSubject                        // /subject TEXT
	roomPrivate                        // /msg NICK TEXT
	roomWho                            // /who
)

// roomCommand is a parsed MESSAGE body to a room.
type roomCommand struct {
	kind roomCommandKind
	// arg is the nickname (/nick, /msg), the subject (/subject) or the
	// text (say, /msg).
	arg, text string
}

// errBadCommand reports a room command without its argument.
var errBadCommand = errors.New("room command needs an argument")

// parseRoomCommand reads a MESSAGE body sent to a room. A body starting with
// one of the commands /nick, /leave, /subject, /msg or /who is that command;
// anything else (an unknown /word or "/me …" included) is text for the room.
func parseRoomCommand(body string) (roomCommand, error) {
	if !strings.HasPrefix(body, "/") {
		return roomCommand{kind: roomSay, text: body}, nil
	}
	word, rest, _ := strings.Cut(body, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(strings.TrimSpace(word)) {
	case "/nick":
		if rest == "" || strings.ContainsAny(rest, " \t\r\n") {
			return roomCommand{}, fmt.Errorf("/nick NAME: %w", errBadCommand)
		}
		return roomCommand{kind: roomNick, arg: rest}, nil
	case "/leave", "/part":
		return roomCommand{kind: roomLeave}, nil
	case "/subject", "/topic":
		if rest == "" {
			return roomCommand{}, fmt.Errorf("/subject TEXT: %w", errBadCommand)
		}
		return roomCommand{kind: roomSubject, arg: rest}, nil
	case "/who":
		return roomCommand{kind: roomWho}, nil
	case "/msg":
		nick, text, _ := strings.Cut(rest, " ")
		if text = strings.TrimSpace(text); nick == "" || text == "" {
			return roomCommand{}, fmt.Errorf("/msg NICK TEXT: %w", errBadCommand)
		}
		return roomCommand{kind: roomPrivate, arg: nick, text: text}, nil
	}
	return roomCommand{kind: roomSay, text: body}, nil
}

// handleRoomMessage takes a MESSAGE from an authenticated local user to a
// room: it joins the room when needed, then posts or runs the command.
func (s *Server) handleRoomMessage(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction, from, room crosstalk.Address) error {
	if room.Local() == "" {
		return statusErr(404, "Not Found (no room named)")
	}
	room = room.Bare()
	b := s.roomBinding(req, from.Bare())
	if b == nil {
		return &StatusError{Code: 403, Reason: "Forbidden (register to take part in rooms)", Err: crosstalk.ErrForbidden}
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	if !sipmap.IsText(ct) || !utf8.Valid(req.Body()) {
		return statusErr(415, "Unsupported Media Type (rooms take text/plain)", sipmsg.NewHeader("Accept", "text/plain"))
	}
	body := strings.TrimRight(string(req.Body()), "\r\n") // the line end some UAs put after the text
	if strings.TrimSpace(body) == "" {
		return statusErr(400, "Bad Request (empty message)")
	}
	cmd, err := parseRoomCommand(body)
	if err != nil {
		return &StatusError{Code: 400, Reason: "Bad Request (" + err.Error() + ")", Err: err}
	}
	occ, in := s.hub.RoomOccupant(room, b.addr)
	switch cmd.kind {
	case roomLeave:
		if in {
			if err := s.hub.LeaveRoom(ctx, room, b.addr, ""); err != nil {
				return fmt.Errorf("leave %s: %w", room, err)
			}
		}
		return s.respond(tx, req, 200, "OK")
	case roomNick:
		if err := s.roomJoin(ctx, b, room, cmd.arg); err != nil {
			return roomStatus(err)
		}
		return s.respond(tx, req, 200, "OK")
	}
	if !in {
		if occ, err = s.roomJoinDerived(ctx, b, room, from); err != nil {
			return roomStatus(err)
		}
	}
	m := crosstalk.Message{ID: callID(req), From: b.addr, To: room, Type: crosstalk.MessageGroupchat}
	switch cmd.kind {
	case roomSubject:
		m.Subject = cmd.arg
	case roomPrivate:
		to, err := room.WithResource(cmd.arg)
		if err != nil {
			return &StatusError{Code: 400, Reason: "Bad Request (invalid nickname)", Err: err}
		}
		m.To, m.Type, m.Body = to, crosstalk.MessageChat, cmd.text
	case roomWho:
		return s.roomWho(ctx, req, tx, b, room, occ)
	default:
		m.Body = cmd.text
	}
	if err := s.hub.RouteMessage(ctx, &m); err != nil {
		return roomStatus(fmt.Errorf("MESSAGE from %s to %s: %w", b.addr, room, err))
	}
	return s.respond(tx, req, 200, "OK")
}

// roomStatus maps a room refusal to its SIP answer: the core table, with a
// clearer reason for a nickname in use.
func roomStatus(err error) error {
	if errors.Is(err, crosstalk.ErrConflict) {
		return &StatusError{Code: 403, Reason: "Forbidden (nickname in use)", Err: err}
	}
	return err
}

// roomJoinDerived joins b to room under the user part of its address, with
// a numeric suffix (2…9) when another occupant has it.
func (s *Server) roomJoinDerived(ctx context.Context, b *binding, room, from crosstalk.Address) (crosstalk.Occupant, error) {
	base := from.Local()
	var err error
	for i := 1; i <= nickSuffixes; i++ {
		nick := base
		if i > 1 {
			nick += strconv.Itoa(i)
		}
		if err = s.roomJoin(ctx, b, room, nick); !errors.Is(err, crosstalk.ErrConflict) {
			break
		}
	}
	if err != nil {
		return crosstalk.Occupant{}, err
	}
	occ, ok := s.hub.RoomOccupant(room, b.addr)
	if !ok {
		return crosstalk.Occupant{}, fmt.Errorf("join %s: %w: the binding left meanwhile", room, crosstalk.ErrEndpointClosed)
	}
	return occ, nil
}

// roomJoin sends b's presence to room/nick: a join when b is not in the
// room, a nickname change when it is. A binding that ended meanwhile is
// taken out again (its end took it out of the rooms it was in before).
func (s *Server) roomJoin(ctx context.Context, b *binding, room crosstalk.Address, nick string) error {
	to, err := room.WithResource(nick)
	if err != nil {
		return &StatusError{Code: 400, Reason: "Bad Request (invalid nickname)", Err: err}
	}
	p := &crosstalk.Presence{From: b.addr, To: to, Type: crosstalk.PresenceAvailable, Join: &crosstalk.RoomJoin{MaxStanzas: -1}}
	if _, in := s.hub.RoomOccupant(room, b.addr); in {
		p.Join = nil
	}
	if err := s.hub.SetPresence(ctx, p); err != nil {
		return fmt.Errorf("join %s as %s: %w", room, nick, err)
	}
	if !s.stillBound(b) {
		_ = s.hub.LeaveRoom(ctx, room, b.addr, "")
		return fmt.Errorf("join %s: %w", room, crosstalk.ErrEndpointClosed)
	}
	return nil
}

// stillBound reports whether b is still the hub's endpoint at its address.
func (s *Server) stillBound(b *binding) bool {
	for _, a := range s.hub.Endpoints(b.addr.Bare()) {
		if a == b.addr {
			reg := b.registration()
			return s.reg.get(b.addr.Bare(), reg.Key()) == b
		}
	}
	return false
}

// roomWho answers /who with a notice listing the occupants' nicknames.
func (s *Server) roomWho(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction, b *binding, room crosstalk.Address, self crosstalk.Occupant) error {
	_, occs, err := s.hub.RoomState(ctx, room)
	if err != nil {
		return fmt.Errorf("who is in %s: %w", room, err)
	}
	nicks := make([]string, 0, len(occs))
	for _, o := range occs {
		nicks = append(nicks, o.Nick)
	}
	text := fmt.Sprintf("%d in the room (you are %s): %s", len(nicks), self.Nick, strings.Join(nicks, ", "))
	if err := b.Deliver(&crosstalk.Message{From: room, To: b.addr, Type: crosstalk.MessageGroupchat, Body: text, Time: s.now()}); err != nil {
		return fmt.Errorf("who is in %s: %w", room, err)
	}
	return s.respond(tx, req, 200, "OK")
}

// roomBinding picks the binding of aor a MESSAGE came from (see the top of
// this file); nil when the AOR has none.
func (s *Server) roomBinding(req *sipmsg.Request, aor crosstalk.Address) *binding {
	bs := s.reg.list(aor)
	if len(bs) == 0 {
		return nil
	}
	if c := req.Contact(); c != nil {
		for _, b := range bs {
			var u sipmsg.Uri
			if sipmsg.ParseUri(b.registration().Contact, &u) == nil && u.User == c.Address.User &&
				strings.EqualFold(u.Host, c.Address.Host) && u.Port == c.Address.Port {
				return b
			}
		}
	}
	src := strings.ToLower(req.Transport()) + ":" + req.Source()
	for _, b := range bs {
		if b.registration().Received == src {
			return b
		}
	}
	best := bs[0]
	for _, b := range bs[1:] {
		r, br := b.registration(), best.registration()
		if r.Q > br.Q || r.Q == br.Q && r.Expires.After(br.Expires) {
			best = b
		}
	}
	return best
}

// roomSelf is what a binding's writer knows of one room it occupies.
type roomSelf struct {
	nick string
	role crosstalk.Role
}

// roomOutbound renders a room event for a SIP occupant's binding as a
// MESSAGE from the room's URI; handled is false for events that are not
// from a room. A room message says who wrote it twice, because phones show
// different things: the From display name is the sender's nickname (most
// phones show it) and the body starts with "nick: " (baresip and others
// show only the From URI). The occupant's own messages, which the room
// reflects, are not sent back. Of presence only the occupant's own changes
// become notices ("*** …"): joined as, now known as, role, kicked, banned,
// left; other occupants' comings and goings are not sent to phones. Called
// only from the binding's writer, which owns b.rooms.
func (b *binding) roomOutbound(ev crosstalk.Event) (out sipmap.Outbound, display string, send, handled bool) {
	var from crosstalk.Address
	switch e := ev.(type) {
	case *crosstalk.Message:
		from = e.From
	case *crosstalk.Presence:
		from = e.From
	default:
		return out, "", false, false
	}
	if from.IsZero() || !b.s.hub.IsRoomService(from) {
		return out, "", false, false
	}
	room := from.Bare()
	var text string
	switch e := ev.(type) {
	case *crosstalk.Message:
		text, display = b.roomMessageText(room, e)
	case *crosstalk.Presence:
		text = b.roomPresenceText(room, e)
	}
	if text == "" {
		return out, "", false, true
	}
	roomURI, err := room.SIPURI()
	if err != nil {
		return out, "", false, true
	}
	to, err := b.addr.Bare().SIPURI()
	if err != nil {
		return out, "", false, true
	}
	return sipmap.Outbound{From: roomURI, To: to, ContentType: sipmap.TextPlain, Body: []byte(text)}, sipmap.Sanitize(display), true, true
}

// roomMessageText is the body a SIP occupant gets for a room message, and
// the display name to send it under; "" for nothing to send.
func (b *binding) roomMessageText(room crosstalk.Address, m *crosstalk.Message) (text, display string) {
	nick := m.From.Resource()
	self, in := b.rooms[room]
	switch {
	case m.Type == crosstalk.MessageGroupchat && nick != "" && in && nick == self.nick:
		return "", "" // the room reflects the occupant's own message
	case m.Body == "" && m.Subject != "":
		subject := strings.TrimSpace(m.Subject)
		if nick == "" {
			return "*** Subject: " + subject, ""
		}
		if subject == "" {
			return "*** " + nick + " cleared the subject", nick
		}
		return "*** " + nick + " changed the subject to: " + subject, nick
	case m.Body == "":
		return "", ""
	case nick == "":
		return "*** " + m.Body, ""
	case m.Type != crosstalk.MessageGroupchat:
		return nick + " (private): " + m.Body, nick
	}
	return nick + ": " + m.Body, nick
}

// roomPresenceText is the notice a SIP occupant gets for its own presence
// in a room, tracking its nickname and role; "" for others' presence.
func (b *binding) roomPresenceText(room crosstalk.Address, p *crosstalk.Presence) string {
	o := p.Occupant
	if o == nil || !o.HasCode(crosstalk.RoomStatusSelf) {
		return ""
	}
	if b.rooms == nil {
		b.rooms = map[crosstalk.Address]roomSelf{}
	}
	nick, reason := p.From.Resource(), ""
	if o.Reason != "" {
		reason = " (" + o.Reason + ")"
	}
	if p.Type == crosstalk.PresenceUnavailable {
		if o.HasCode(crosstalk.RoomStatusNickChanged) {
			b.rooms[room] = roomSelf{nick: o.NewNick, role: b.rooms[room].role}
			return "*** You are now known as " + o.NewNick
		}
		delete(b.rooms, room)
		switch {
		case o.HasCode(crosstalk.RoomStatusKicked):
			return "*** You were kicked from " + room.String() + reason
		case o.HasCode(crosstalk.RoomStatusBanned):
			return "*** You were banned from " + room.String() + reason
		case o.HasCode(crosstalk.RoomStatusAffiliationChanged):
			return "*** You were removed from " + room.String() + " (members only)" + reason
		case o.HasCode(crosstalk.RoomStatusShutdown):
			return "*** " + room.String() + " was closed" + reason
		}
		return "*** You left " + room.String()
	}
	prev, in := b.rooms[room]
	b.rooms[room] = roomSelf{nick: nick, role: o.Role}
	switch {
	case !in:
		return fmt.Sprintf("*** You joined %s as %s (%s); /nick NAME, /subject TEXT, /msg NICK TEXT, /who, /leave", room, nick, o.Role)
	case prev.role != o.Role:
		return "*** Your role is now " + o.Role.String() + reason
	}
	return ""
}
