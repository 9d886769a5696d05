package crosstalk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
)

// The room service (XEP-0045 semantics, protocol-neutral). Rooms live at
// room@service for the service domains of HubConfig.RoomDomains; presence
// and messages addressed there reach the room service from SetPresence and
// RouteMessage, so XMPP MUC, SIP pager-mode occupants and the API share one
// set of rooms, occupants and permissions. See docs/design/002-rooms.md.
//
// Lock order: roomsMu before liveRoom.mu before Hub.mu. Endpoint.Deliver is
// called with liveRoom.mu held (it never blocks nor calls back); endpoints
// that fail are dropped after the room lock is released.

// DefaultRoomConfig is the configuration of a room created by joining it
// (an instant room, XEP-0045 §10.1.2).
func DefaultRoomConfig() RoomConfig {
	return RoomConfig{Public: true, HistoryLength: 20, WhoIs: WhoIsModerators}
}

// liveRoom is a room in memory: its stored part, its occupants, its history.
type liveRoom struct {
	mu        sync.Mutex
	room      Room
	occupants map[string]*occupant  // by nickname
	byReal    map[Address]*occupant // by the occupant's full address
	history   []*Message            // oldest first, at most Config.HistoryLength
	// gone is set when the room left the registry; a caller holding it
	// looks it up again.
	gone bool
}

// occupant is one endpoint present in a room.
type occupant struct {
	nick     string
	real     Address
	role     Role
	presence Presence // the last available presence it sent to the room
	id       string
}

// failedDelivery is an endpoint that refused an event while a room lock was
// held; it is dropped once the lock is released.
type failedDelivery struct {
	b   *binding
	err error
}

// isRoomDomain reports whether d is a room service domain.
func (h *Hub) isRoomDomain(d string) bool { return h.roomDomains[d] }

// IsRoomService reports whether an address belongs to a room service here.
func (h *Hub) IsRoomService(a Address) bool { return h.isRoomDomain(a.Domain()) }

// room returns the live room at addr, loading it from the store, or
// creating it for creator when create is set. created reports a new room.
func (h *Hub) room(ctx context.Context, addr Address, create bool, creator Address) (lr *liveRoom, created bool, err error) {
	h.roomsMu.Lock()
	defer h.roomsMu.Unlock()
	if lr := h.rooms[addr]; lr != nil {
		return lr, false, nil
	}
	r, err := h.store.GetRoom(ctx, addr)
	switch {
	case err == nil:
	case errorsIs(err, ErrNotFound) && create:
		if addr.Local() == "" {
			return nil, false, fmt.Errorf("room %s: %w: a room needs a name", addr, ErrInvalidAddress)
		}
		r = Room{Address: addr, Config: DefaultRoomConfig(), Created: h.now(),
			Affiliations: map[Address]Affiliation{creator.Bare(): AffiliationOwner}}
		created = true
	case errorsIs(err, ErrNotFound):
		return nil, false, fmt.Errorf("room %s: %w", addr, ErrNotFound)
	default:
		return nil, false, fmt.Errorf("load room %s: %w", addr, err)
	}
	if r.Affiliations == nil {
		r.Affiliations = map[Address]Affiliation{}
	}
	lr = &liveRoom{room: r, occupants: map[string]*occupant{}, byReal: map[Address]*occupant{}}
	if !created && h.archiver != nil && r.Config.HistoryLength > 0 { // a stored room's history survives a restart
		page, err := h.QueryArchive(ctx, addr, ArchiveQuery{Last: true, Max: r.Config.HistoryLength})
		if err != nil {
			h.log.Warn().Err(err).Str("room", addr.String()).Msg("loading the room's history failed")
		}
		for i := range page.Messages {
			m := &page.Messages[i].Message
			m.StanzaID = page.Messages[i].ID
			lr.history = append(lr.history, m)
		}
	}
	h.rooms[addr] = lr
	return lr, created, nil
}

// lockRoom returns a live room locked, retrying if it left the registry
// between the lookup and the lock.
func (h *Hub) lockRoom(ctx context.Context, addr Address, create bool, creator Address) (*liveRoom, bool, error) {
	for range 8 {
		lr, created, err := h.room(ctx, addr, create, creator)
		if err != nil {
			return nil, false, err
		}
		lr.mu.Lock()
		if !lr.gone {
			return lr, created, nil
		}
		lr.mu.Unlock()
	}
	return nil, false, fmt.Errorf("room %s: %w: changing too fast", addr, ErrConflict)
}

// forget removes an empty, non-persistent room from the registry; call
// with lr.mu held.
func (h *Hub) forgetIfIdle(lr *liveRoom) {
	if len(lr.occupants) > 0 || lr.room.Config.Persistent {
		return
	}
	lr.gone = true
	h.roomsMu.Lock()
	if h.rooms[lr.room.Address] == lr {
		delete(h.rooms, lr.room.Address)
	}
	h.roomsMu.Unlock()
}

// occupantID derives the stable anonymous id of XEP-0421 for a bare
// address in a room.
func (h *Hub) occupantID(room, real Address) string {
	mac := hmac.New(sha256.New, h.occupantKey)
	mac.Write([]byte(room.String()))
	mac.Write([]byte{0})
	mac.Write([]byte(real.Bare().String()))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}

// affiliationOf returns the affiliation of a bare address in the room.
func (lr *liveRoom) affiliationOf(a Address) Affiliation { return lr.room.Affiliations[a.Bare()] }

// roleFor is the role an affiliation gets on entering (XEP-0045 §5.1.2).
func (lr *liveRoom) roleFor(a Affiliation) Role {
	switch {
	case a >= AffiliationAdmin:
		return RoleModerator
	case lr.room.Config.Moderated && a < AffiliationMember:
		return RoleVisitor
	default:
		return RoleParticipant
	}
}

// canSeeReal reports whether receiver may see occupants' real addresses.
func (lr *liveRoom) canSeeReal(receiver *occupant) bool {
	return lr.room.Config.WhoIs == WhoIsAnyone || receiver.role == RoleModerator
}

// presenceOf builds the room presence of occ as receiver sees it.
func (h *Hub) presenceOf(lr *liveRoom, occ, receiver *occupant, unavailable bool, codes ...int) *Presence {
	from, _ := lr.room.Address.WithResource(occ.nick)
	p := &Presence{From: from, To: receiver.real, Time: h.now(),
		Occupant: &OccupantInfo{Role: occ.role, Affiliation: lr.affiliationOf(occ.real), OccupantID: occ.id}}
	if unavailable {
		p.Type = PresenceUnavailable
		p.Occupant.Role = RoleNone
	} else {
		p.Show, p.Status, p.Priority = occ.presence.Show, occ.presence.Status, occ.presence.Priority
	}
	if lr.canSeeReal(receiver) {
		p.Occupant.RealAddress = occ.real
	}
	if occ == receiver {
		p.Occupant.Codes = append(p.Occupant.Codes, RoomStatusSelf)
		if lr.room.Config.WhoIs == WhoIsAnyone {
			p.Occupant.Codes = append(p.Occupant.Codes, RoomStatusNonAnonymous)
		}
	}
	p.Occupant.Codes = append(p.Occupant.Codes, codes...)
	return p
}

// send delivers ev to an occupant's endpoint with the room lock held; a
// refusal is recorded for dropping after the lock is released.
func (h *Hub) send(to Address, ev Event, failed *[]failedDelivery) {
	b := h.lookup(to)
	if b == nil {
		return // the endpoint went away; its unbind takes it out of the room
	}
	if err := b.ep.Deliver(ev); err != nil {
		*failed = append(*failed, failedDelivery{b, err})
	}
}

// dropFailed drops the endpoints that refused room events.
func (h *Hub) dropFailed(ctx context.Context, failed []failedDelivery) {
	for _, f := range failed {
		h.dropEndpoint(ctx, f.b, f.err)
	}
}

// broadcastOccupant sends occ's presence to every occupant, each with its
// own view; extra codes go to everyone, self codes are added for occ.
func (h *Hub) broadcastOccupant(lr *liveRoom, occ *occupant, unavailable bool, info func(*OccupantInfo), failed *[]failedDelivery, codes ...int) {
	for _, r := range lr.occupants {
		p := h.presenceOf(lr, occ, r, unavailable, codes...)
		if info != nil {
			info(p.Occupant)
		}
		h.send(r.real, p, failed)
	}
	if unavailable && lr.occupants[occ.nick] != occ { // occ has left: it hears of it too
		p := h.presenceOf(lr, occ, occ, true, codes...)
		if info != nil {
			info(p.Occupant)
		}
		h.send(occ.real, p, failed)
	}
}

// roomPresence handles presence to room@service/nick: join, presence
// update, nickname change, or leave.
func (h *Hub) roomPresence(ctx context.Context, p *Presence) error {
	roomAddr, nick := p.To.Bare(), p.To.Resource()
	if p.From.IsBare() {
		return fmt.Errorf("presence to room %s: %w: occupants are full addresses", roomAddr, ErrInvalidAddress)
	}
	switch p.Type {
	case PresenceUnavailable:
		return h.LeaveRoom(ctx, roomAddr, p.From, p.Status)
	case PresenceAvailable:
	default:
		return nil // probes and subscriptions are not for rooms
	}
	if nick == "" {
		return fmt.Errorf("join %s: %w: no nickname", roomAddr, ErrInvalidAddress)
	}
	lr, created, err := h.lockRoom(ctx, roomAddr, true, p.From)
	if err != nil {
		return err
	}
	var failed []failedDelivery
	if occ := lr.byReal[p.From]; occ != nil {
		err = h.updateOccupant(lr, occ, nick, p, &failed)
	} else {
		err = h.join(ctx, lr, created, nick, p, &failed)
		if err != nil {
			h.forgetIfIdle(lr)
		}
	}
	lr.mu.Unlock()
	h.dropFailed(ctx, failed)
	return err
}

// join admits p.From as nick after the room's checks (XEP-0045 §7.2).
func (h *Hub) join(ctx context.Context, lr *liveRoom, created bool, nick string, p *Presence, failed *[]failedDelivery) error {
	cfg, aff := &lr.room.Config, lr.affiliationOf(p.From)
	opts := RoomJoin{MaxStanzas: -1}
	if p.Join != nil {
		opts = *p.Join
	}
	switch {
	case aff == AffiliationOutcast:
		return fmt.Errorf("join %s: %w: banned", lr.room.Address, ErrForbidden)
	case lr.room.Locked && aff != AffiliationOwner: // XEP-0045 §10.1.1
		return fmt.Errorf("join %s: %w: locked until its owner configures it", lr.room.Address, ErrNotFound)
	case cfg.MembersOnly && aff < AffiliationMember:
		return fmt.Errorf("join %s: %w", lr.room.Address, ErrMembersOnly)
	case cfg.Password != "" && aff < AffiliationOwner && !constantTimeEqual(opts.Password, cfg.Password):
		return fmt.Errorf("join %s: %w: wrong or missing room password", lr.room.Address, ErrNotAuthorized)
	case cfg.MaxOccupants > 0 && len(lr.occupants) >= cfg.MaxOccupants && aff < AffiliationAdmin:
		return fmt.Errorf("join %s: %w", lr.room.Address, ErrRoomFull)
	}
	if _, err := lr.room.Address.WithResource(nick); err != nil {
		return fmt.Errorf("join %s as %q: %w", lr.room.Address, nick, err)
	}
	if other := lr.occupants[nick]; other != nil {
		return fmt.Errorf("join %s as %s: %w: nickname in use", lr.room.Address, nick, ErrConflict)
	}
	if created && h.cfg.LockNewRooms && opts.Configurable {
		lr.room.Locked = true
	}
	occ := &occupant{nick: nick, real: p.From, role: lr.roleFor(aff), presence: *p, id: h.occupantID(lr.room.Address, p.From)}
	lr.occupants[nick] = occ
	lr.byReal[occ.real] = occ
	h.indexOccupant(occ.real, lr.room.Address, true)
	var codes []int
	if created {
		codes = append(codes, RoomStatusCreated)
	}
	h.welcome(lr, occ, opts, failed, codes...)
	h.log.Debug().Str("room", lr.room.Address.String()).Str("nick", nick).Str("jid", occ.real.String()).Msg("joined room")
	return nil
}

// welcome sends what a joining occupant receives, in the XEP-0045 §7.2
// order: the others' presence, its own presence (to everyone), the history
// it asked for, the subject.
func (h *Hub) welcome(lr *liveRoom, occ *occupant, opts RoomJoin, failed *[]failedDelivery, codes ...int) {
	for _, other := range lr.sortedOccupants() {
		if other != occ {
			h.send(occ.real, h.presenceOf(lr, other, occ, false), failed)
		}
	}
	h.broadcastOccupant(lr, occ, false, nil, failed, codes...)
	for _, m := range lr.historyFor(opts) {
		hm := *m
		hm.To, hm.Delayed = occ.real, true
		h.send(occ.real, &hm, failed)
	}
	h.send(occ.real, &Message{From: lr.room.Address, To: occ.real, Type: MessageGroupchat, Subject: lr.room.Subject, Time: h.now()}, failed)
}

// historyFor returns the history a joining occupant asked for.
func (lr *liveRoom) historyFor(o RoomJoin) []*Message {
	hist := lr.history
	if !o.Since.IsZero() {
		i := 0
		for i < len(hist) && !hist[i].Time.After(o.Since) {
			i++
		}
		hist = hist[i:]
	}
	if o.MaxStanzas >= 0 && len(hist) > o.MaxStanzas {
		hist = hist[len(hist)-o.MaxStanzas:]
	}
	return hist
}

// updateOccupant handles presence from an occupant: a new nickname, or a
// changed show/status.
func (h *Hub) updateOccupant(lr *liveRoom, occ *occupant, nick string, p *Presence, failed *[]failedDelivery) error {
	if nick == occ.nick {
		occ.presence = *p
		if p.Join != nil { // a join from an occupant (a client that lost its state): join again, XEP-0045 §7.2
			h.welcome(lr, occ, *p.Join, failed)
			return nil
		}
		h.broadcastOccupant(lr, occ, false, nil, failed)
		return nil
	}
	if _, err := lr.room.Address.WithResource(nick); err != nil {
		return fmt.Errorf("nickname %q in %s: %w", nick, lr.room.Address, err)
	}
	if lr.occupants[nick] != nil {
		return fmt.Errorf("nickname %s in %s: %w: in use", nick, lr.room.Address, ErrConflict)
	}
	// XEP-0045 §7.6: unavailable with 303 under the old nick, then available under the new.
	for _, r := range lr.occupants {
		up := h.presenceOf(lr, occ, r, true, RoomStatusNickChanged)
		up.Occupant.NewNick = nick
		h.send(r.real, up, failed)
	}
	delete(lr.occupants, occ.nick)
	occ.nick, occ.presence = nick, *p
	lr.occupants[nick] = occ
	h.broadcastOccupant(lr, occ, false, nil, failed)
	return nil
}

// LeaveRoom takes the occupant at the full address out of a room; leaving
// a room one is not in is no error.
func (h *Hub) LeaveRoom(ctx context.Context, roomAddr, real Address, status string) error {
	h.roomsMu.Lock()
	lr := h.rooms[roomAddr.Bare()]
	h.roomsMu.Unlock()
	if lr == nil {
		return nil
	}
	lr.mu.Lock()
	var failed []failedDelivery
	if occ := lr.byReal[real]; occ != nil && !lr.gone {
		occ.presence.Status = status
		h.removeOccupant(lr, occ, nil, &failed)
		h.forgetIfIdle(lr)
	}
	lr.mu.Unlock()
	h.dropFailed(ctx, failed)
	return nil
}

// removeOccupant takes occ out and tells everyone, itself included.
func (h *Hub) removeOccupant(lr *liveRoom, occ *occupant, info func(*OccupantInfo), failed *[]failedDelivery, codes ...int) {
	delete(lr.occupants, occ.nick)
	delete(lr.byReal, occ.real)
	h.indexOccupant(occ.real, lr.room.Address, false)
	h.broadcastOccupant(lr, occ, true, info, failed, codes...)
}

// indexOccupant records which rooms a full address occupies, so that an
// ending endpoint leaves them all.
func (h *Hub) indexOccupant(real, room Address, in bool) {
	h.roomsMu.Lock()
	defer h.roomsMu.Unlock()
	set := h.occupying[real]
	if in {
		if set == nil {
			set = map[Address]bool{}
			h.occupying[real] = set
		}
		set[room] = true
		return
	}
	delete(set, room)
	if len(set) == 0 {
		delete(h.occupying, real)
	}
}

// leaveAllRooms takes an endpoint that ended or went unavailable out of
// every room it occupies.
func (h *Hub) leaveAllRooms(ctx context.Context, real Address) {
	h.roomsMu.Lock()
	rooms := make([]Address, 0, len(h.occupying[real]))
	for r := range h.occupying[real] {
		rooms = append(rooms, r)
	}
	h.roomsMu.Unlock()
	for _, r := range rooms {
		_ = h.LeaveRoom(ctx, r, real, "")
	}
}

// RoomOccupant returns the occupant at a full address in a live room, and
// whether there is one. It does not load a stored room: a room that is not
// live has no occupants. Frontends whose protocol has no join of its own
// (SIP pager-mode occupants) use it to decide whether a message joins.
func (h *Hub) RoomOccupant(roomAddr, real Address) (Occupant, bool) {
	h.roomsMu.Lock()
	lr := h.rooms[roomAddr.Bare()]
	h.roomsMu.Unlock()
	if lr == nil {
		return Occupant{}, false
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	occ := lr.byReal[real]
	if occ == nil || lr.gone {
		return Occupant{}, false
	}
	return Occupant{Nick: occ.nick, RealAddress: occ.real, Role: occ.role, Affiliation: lr.affiliationOf(occ.real)}, true
}
