package crosstalk

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sort"
	"time"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// roomMessage handles a message to a room: a groupchat message or subject
// change to room@service, or a private message to room@service/nick.
func (h *Hub) roomMessage(ctx context.Context, m *Message) error {
	roomAddr := m.To.Bare()
	h.roomsMu.Lock()
	lr := h.rooms[roomAddr]
	h.roomsMu.Unlock()
	if lr == nil {
		return fmt.Errorf("message to %s: %w: no such room, or you are not in it", roomAddr, ErrNotFound)
	}
	lr.mu.Lock()
	var failed []failedDelivery
	err := h.roomMessageLocked(lr, m, &failed)
	lr.mu.Unlock()
	h.dropFailed(ctx, failed)
	return err
}

func (h *Hub) roomMessageLocked(lr *liveRoom, m *Message, failed *[]failedDelivery) error {
	sender := lr.byReal[m.From]
	if sender == nil || lr.gone {
		return fmt.Errorf("message to %s: %w: not an occupant", lr.room.Address, ErrForbidden)
	}
	from, _ := lr.room.Address.WithResource(sender.nick)
	if !m.To.IsBare() { // a private message (XEP-0045 §7.5)
		target := lr.occupants[m.To.Resource()]
		if target == nil {
			return fmt.Errorf("private message to %s: %w: no such occupant", m.To, ErrNotFound)
		}
		pm := *m
		pm.From, pm.To = from, target.real
		h.send(target.real, &pm, failed)
		return nil
	}
	if m.Type != MessageGroupchat {
		return fmt.Errorf("message to %s: %w: only groupchat messages go to the whole room", lr.room.Address, ErrForbidden)
	}
	if sender.role == RoleVisitor {
		return fmt.Errorf("message to %s: %w: visitors have no voice in a moderated room", lr.room.Address, ErrForbidden)
	}
	if m.Body == "" && m.Subject != "" { // a subject change (XEP-0045 §8.1)
		if sender.role != RoleModerator && !lr.room.Config.OccupantsChangeSubject {
			return fmt.Errorf("subject of %s: %w: only moderators may change it", lr.room.Address, ErrForbidden)
		}
		lr.room.Subject = m.Subject
		h.persistRoom(lr)
	}
	out := *m
	out.From, out.Time, out.StanzaID = from, h.now(), ""
	if out.Body != "" && h.archiver != nil { // the room's archive (XEP-0313 for MUC); its id goes out with the message (XEP-0359)
		out.StanzaID = h.archiveIDs.Next(time.Now())
		if err := h.archiver.enqueue(context.Background(), archiveJob{owner: lr.room.Address, entry: ArchivedMessage{ID: out.StanzaID, With: from, Message: out}}); err != nil {
			h.log.Warn().Err(err).Str("room", lr.room.Address.String()).Msg("archiving a room message failed")
		}
	}
	if out.Body != "" {
		keep := lr.room.Config.HistoryLength
		hm := out
		lr.history = append(lr.history, &hm)
		if len(lr.history) > keep {
			lr.history = append(lr.history[:0], lr.history[len(lr.history)-keep:]...)
		}
	}
	for _, r := range lr.occupants {
		rm := out
		rm.To = r.real
		h.send(r.real, &rm, failed)
	}
	return nil
}

// persistRoom stores a persistent room's configuration, subject and
// affiliations; call with lr.mu held.
func (h *Hub) persistRoom(lr *liveRoom) {
	if !lr.room.Config.Persistent {
		return
	}
	if err := h.store.PutRoom(context.Background(), lr.room); err != nil {
		h.log.Error().Err(err).Str("room", lr.room.Address.String()).Msg("storing the room failed")
	}
}

// SetRoomRole changes the role of the occupant with a nickname, on behalf of
// the occupant actor (XEP-0045 §8.2–8.6 and §9.6): RoleNone kicks,
// RoleVisitor revokes voice, RoleParticipant grants it, RoleModerator makes
// a moderator (admins and owners only).
func (h *Hub) SetRoomRole(ctx context.Context, roomAddr, actor Address, nick string, role Role, reason string) error {
	lr, _, err := h.lockRoom(ctx, roomAddr.Bare(), false, Address{})
	if err != nil {
		return err
	}
	var failed []failedDelivery
	err = h.setRole(lr, actor, nick, role, reason, &failed)
	h.forgetIfIdle(lr)
	lr.mu.Unlock()
	h.dropFailed(ctx, failed)
	return err
}

func (h *Hub) setRole(lr *liveRoom, actor Address, nick string, role Role, reason string, failed *[]failedDelivery) error {
	by := lr.byReal[actor]
	if by == nil || by.role != RoleModerator {
		return fmt.Errorf("role in %s: %w: only moderators change roles", lr.room.Address, ErrForbidden)
	}
	target := lr.occupants[nick]
	if target == nil {
		return fmt.Errorf("role of %s in %s: %w: no such occupant", nick, lr.room.Address, ErrNotFound)
	}
	actorAff, targetAff := lr.affiliationOf(by.real), lr.affiliationOf(target.real)
	if targetAff > actorAff && targetAff >= AffiliationAdmin || role == RoleModerator && actorAff < AffiliationAdmin ||
		target.role == RoleModerator && targetAff >= AffiliationAdmin && role != RoleModerator {
		return fmt.Errorf("role of %s in %s: %w: not allowed by affiliation", nick, lr.room.Address, ErrForbidden)
	}
	withReason := func(o *OccupantInfo) { o.Reason = reason }
	if role == RoleNone {
		h.removeOccupant(lr, target, withReason, failed, RoomStatusKicked)
		return nil
	}
	target.role = role
	h.broadcastOccupant(lr, target, false, withReason, failed)
	return nil
}

// SetRoomAffiliation changes the affiliation of a bare address, on behalf
// of actor (XEP-0045 §9 and §10): owners change any, admins only members,
// outcasts and none below admin. An outcast present is removed (banned);
// a non-member of a members-only room is removed.
func (h *Hub) SetRoomAffiliation(ctx context.Context, roomAddr, actor, target Address, aff Affiliation, reason string) error {
	lr, _, err := h.lockRoom(ctx, roomAddr.Bare(), false, Address{})
	if err != nil {
		return err
	}
	var failed []failedDelivery
	err = h.setAffiliation(lr, actor, target.Bare(), aff, reason, &failed)
	h.forgetIfIdle(lr)
	lr.mu.Unlock()
	h.dropFailed(ctx, failed)
	return err
}

func (h *Hub) setAffiliation(lr *liveRoom, actor, target Address, aff Affiliation, reason string, failed *[]failedDelivery) error {
	actorAff, current := lr.affiliationOf(actor), lr.affiliationOf(target)
	switch {
	case actorAff == AffiliationOwner:
		if current == AffiliationOwner && aff != AffiliationOwner && lr.owners() == 1 {
			return fmt.Errorf("affiliation in %s: %w: the last owner stays", lr.room.Address, ErrConflict)
		}
	case actorAff == AffiliationAdmin && current < AffiliationAdmin && aff < AffiliationAdmin:
	default:
		return fmt.Errorf("affiliation in %s: %w: not allowed by your affiliation", lr.room.Address, ErrForbidden)
	}
	if aff == AffiliationNone {
		delete(lr.room.Affiliations, target)
	} else {
		lr.room.Affiliations[target] = aff
	}
	h.persistRoom(lr)
	withReason := func(o *OccupantInfo) { o.Reason = reason }
	for _, occ := range lr.sortedOccupants() {
		if occ.real.Bare() != target {
			continue
		}
		switch {
		case aff == AffiliationOutcast:
			h.removeOccupant(lr, occ, withReason, failed, RoomStatusBanned)
		case lr.room.Config.MembersOnly && aff < AffiliationMember:
			h.removeOccupant(lr, occ, withReason, failed, RoomStatusAffiliationChanged)
		default:
			occ.role = lr.roleFor(aff)
			h.broadcastOccupant(lr, occ, false, withReason, failed)
		}
	}
	return nil
}

// owners counts the room's owners.
func (lr *liveRoom) owners() int {
	n := 0
	for _, a := range lr.room.Affiliations {
		if a == AffiliationOwner {
			n++
		}
	}
	return n
}

// sortedOccupants returns the occupants by nickname.
func (lr *liveRoom) sortedOccupants() []*occupant {
	out := make([]*occupant, 0, len(lr.occupants))
	for _, o := range lr.occupants {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].nick < out[j].nick })
	return out
}

// ConfigureRoom replaces a room's configuration on behalf of an owner
// (XEP-0045 §10.2). A room made persistent is stored; one made temporary
// is deleted from the store and forgotten when empty.
func (h *Hub) ConfigureRoom(ctx context.Context, roomAddr, actor Address, cfg RoomConfig) error {
	lr, _, err := h.lockRoom(ctx, roomAddr.Bare(), false, Address{})
	if err != nil {
		return err
	}
	defer lr.mu.Unlock()
	if lr.affiliationOf(actor) != AffiliationOwner {
		return fmt.Errorf("configure %s: %w: owners only", lr.room.Address, ErrForbidden)
	}
	if cfg.HistoryLength < 0 || cfg.MaxOccupants < 0 {
		return fmt.Errorf("configure %s: %w: negative limit", lr.room.Address, ErrConflict)
	}
	wasPersistent := lr.room.Config.Persistent
	lr.room.Config = cfg
	lr.room.Locked = false // configured, or accepted as an instant room (XEP-0045 §10.1.2, §10.1.3)
	if len(lr.history) > cfg.HistoryLength {
		lr.history = append(lr.history[:0], lr.history[len(lr.history)-cfg.HistoryLength:]...)
	}
	if cfg.Persistent {
		if err := h.store.PutRoom(ctx, lr.room); err != nil {
			return fmt.Errorf("configure %s: %w", lr.room.Address, err)
		}
	} else if wasPersistent {
		if err := h.store.DeleteRoom(ctx, lr.room.Address); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("configure %s: %w", lr.room.Address, err)
		}
	}
	h.forgetIfIdle(lr)
	return nil
}

// DestroyRoom removes a room on behalf of an owner (XEP-0045 §10.9): every
// occupant leaves with the reason, and a stored room is deleted.
func (h *Hub) DestroyRoom(ctx context.Context, roomAddr, actor Address, reason string) error {
	lr, _, err := h.lockRoom(ctx, roomAddr.Bare(), false, Address{})
	if err != nil {
		return err
	}
	var failed []failedDelivery
	err = func() error {
		defer lr.mu.Unlock()
		if lr.affiliationOf(actor) != AffiliationOwner {
			return fmt.Errorf("destroy %s: %w: owners only", lr.room.Address, ErrForbidden)
		}
		withReason := func(o *OccupantInfo) { o.Reason = reason }
		for _, occ := range lr.sortedOccupants() {
			h.removeOccupant(lr, occ, withReason, &failed, RoomStatusShutdown)
		}
		if err := h.store.DeleteRoom(ctx, lr.room.Address); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("destroy %s: %w", lr.room.Address, err)
		}
		lr.room.Config.Persistent = false
		h.forgetIfIdle(lr)
		return nil
	}()
	h.dropFailed(ctx, failed)
	return err
}

// RoomState returns a room's stored part and its occupants, real addresses
// included (frontends show them according to the room's WhoIs). A room that
// does not exist is ErrNotFound.
func (h *Hub) RoomState(ctx context.Context, roomAddr Address) (Room, []Occupant, error) {
	lr, _, err := h.lockRoom(ctx, roomAddr.Bare(), false, Address{})
	if err != nil {
		return Room{}, nil, err
	}
	defer lr.mu.Unlock()
	r := lr.room
	r.Affiliations = make(map[Address]Affiliation, len(lr.room.Affiliations))
	for k, v := range lr.room.Affiliations {
		r.Affiliations[k] = v
	}
	occs := make([]Occupant, 0, len(lr.occupants))
	for _, o := range lr.sortedOccupants() {
		occs = append(occs, Occupant{Nick: o.nick, RealAddress: o.real, Role: o.role, Affiliation: lr.affiliationOf(o.real)})
	}
	return r, occs, nil
}

// PublicRooms returns the public rooms of a service domain, stored or live,
// sorted by address (XEP-0045 §6.3).
func (h *Hub) PublicRooms(ctx context.Context, service string) ([]Room, error) {
	stored, err := h.store.ListRooms(ctx, service)
	if err != nil {
		return nil, fmt.Errorf("rooms of %s: %w", service, err)
	}
	seen := map[Address]bool{}
	var out []Room
	h.roomsMu.Lock()
	live := make([]*liveRoom, 0, len(h.rooms))
	for _, lr := range h.rooms {
		live = append(live, lr)
	}
	h.roomsMu.Unlock()
	for _, lr := range live {
		lr.mu.Lock()
		r := lr.room
		lr.mu.Unlock()
		if r.Address.Domain() == service && r.Config.Public && !r.Locked {
			out = append(out, r)
		}
		seen[r.Address] = true
	}
	for _, r := range stored {
		if !seen[r.Address] && r.Config.Public {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address.String() < out[j].Address.String() })
	return out, nil
}

// QueryRoomArchive returns a page of a room's archive (XEP-0313 for MUC) to
// asker: an occupant, a member or higher, or anyone not banned from a room
// that is not members-only.
func (h *Hub) QueryRoomArchive(ctx context.Context, roomAddr, asker Address, q ArchiveQuery) (ArchivePage, error) {
	lr, _, err := h.lockRoom(ctx, roomAddr.Bare(), false, Address{})
	if err != nil {
		return ArchivePage{}, err
	}
	aff := lr.affiliationOf(asker)
	allowed := aff >= AffiliationMember || (!lr.room.Config.MembersOnly && aff != AffiliationOutcast)
	for real := range lr.byReal {
		if real.Bare() == asker.Bare() && aff != AffiliationOutcast {
			allowed = true
		}
	}
	h.forgetIfIdle(lr)
	lr.mu.Unlock()
	if !allowed {
		return ArchivePage{}, fmt.Errorf("archive of %s: %w", roomAddr, ErrForbidden)
	}
	return h.QueryArchive(ctx, roomAddr.Bare(), q)
}
