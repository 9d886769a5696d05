package crosstalk_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

const service = "conference.example.com"

// roomFixture is a hub with a room service over a SQLite store at path.
func roomFixture(t testing.TB, path string, users ...string) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}, RoomDomains: []string{service}, OccupantIDKey: []byte("k"), Archive: true}, st, zerolog.Nop())
	t.Cleanup(func() { _ = hub.Close(ctx) })
	for _, u := range users {
		if err := hub.CreateAccount(ctx, addr(u), "secret-"+u, crosstalk.MinSCRAMIterations); err != nil && !errors.Is(err, crosstalk.ErrAccountExists) {
			t.Fatal(err)
		}
	}
	f := &fixture{ctx: ctx, hub: hub, store: st}
	if tt, ok := t.(*testing.T); ok {
		f.t = tt
	}
	return f
}

func roomAddr(s string) crosstalk.Address { return crosstalk.MustParseAddress(s + "@" + service) }

func occ(room, nick string) crosstalk.Address {
	a, err := roomAddr(room).WithResource(nick)
	if err != nil {
		panic(err)
	}
	return a
}

// join sends presence to room/nick from a full address.
func (f *fixture) join(from crosstalk.Address, room, nick string, j *crosstalk.RoomJoin) error {
	return f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: from, To: occ(room, nick), Join: j})
}

func (f *fixture) say(from crosstalk.Address, room, body string) error {
	return f.hub.RouteMessage(f.ctx, &crosstalk.Message{From: from, To: roomAddr(room), Type: crosstalk.MessageGroupchat, Body: body})
}

// selfPresence finds the presence that carries status 110.
func selfPresence(t *testing.T, evs []crosstalk.Event) *crosstalk.Presence {
	t.Helper()
	for _, ev := range evs {
		if p, ok := ev.(*crosstalk.Presence); ok && p.Occupant != nil && p.Occupant.HasCode(crosstalk.RoomStatusSelf) {
			return p
		}
	}
	t.Fatalf("no self-presence among %d events", len(evs))
	return nil
}

func TestRoomJoinTalkHistoryLeave(t *testing.T) {
	f := roomFixture(t, t.TempDir()+"/r.db", "alice", "bob", "carol")
	aliceEP, alice := f.online("alice/pc", 0)
	bobEP, bob := f.online("bob/phone", 0)
	carolEP, carol := f.online("carol/pc", 0)
	aliceEP.take()
	bobEP.take()
	carolEP.take()

	if err := f.join(alice, "lobby", "Alice", nil); err != nil {
		t.Fatal(err)
	}
	evs := aliceEP.take()
	self := selfPresence(t, evs)
	if self.From != occ("lobby", "Alice") || !self.Occupant.HasCode(crosstalk.RoomStatusCreated) ||
		self.Occupant.Affiliation != crosstalk.AffiliationOwner || self.Occupant.Role != crosstalk.RoleModerator || self.Occupant.OccupantID == "" {
		t.Fatalf("creator's self-presence: %+v %+v", self, self.Occupant)
	}
	if ms := messages(evs); len(ms) != 1 || ms[0].From != roomAddr("lobby") || ms[0].Type != crosstalk.MessageGroupchat {
		t.Fatalf("want the subject message last, got %+v", ms)
	}

	if err := f.join(bob, "lobby", "Bob", nil); err != nil {
		t.Fatal(err)
	}
	evs = bobEP.take()
	ps := presences(evs, crosstalk.PresenceAvailable)
	if len(ps) != 2 || ps[0].From != occ("lobby", "Alice") || ps[1].From != occ("lobby", "Bob") {
		t.Fatalf("bob sees %d presences, want Alice then his own", len(ps))
	}
	if !ps[0].Occupant.RealAddress.IsZero() {
		t.Fatal("a participant sees real addresses in a semi-anonymous room")
	}
	if ps[1].Occupant.HasCode(crosstalk.RoomStatusCreated) {
		t.Fatal("201 for a room that existed")
	}
	ap := presences(aliceEP.take(), crosstalk.PresenceAvailable)
	if len(ap) != 1 || ap[0].From != occ("lobby", "Bob") || ap[0].Occupant.RealAddress != bob {
		t.Fatalf("the moderator sees bob as %+v", ap)
	}

	if err := f.say(alice, "lobby", "héllo 👋"); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []*endpoint{aliceEP, bobEP} {
		ms := messages(ep.take())
		if len(ms) != 1 || ms[0].From != occ("lobby", "Alice") || ms[0].Body != "héllo 👋" {
			t.Fatalf("groupchat: %+v", ms)
		}
	}
	if err := f.say(carol, "lobby", "not in"); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a non-occupant posts: %v", err)
	}

	for _, body := range []string{"two", "three"} {
		if err := f.say(bob, "lobby", body); err != nil {
			t.Fatal(err)
		}
	}
	aliceEP.take()
	bobEP.take()
	if err := f.join(carol, "lobby", "Carol", &crosstalk.RoomJoin{MaxStanzas: 2}); err != nil {
		t.Fatal(err)
	}
	var history []*crosstalk.Message
	for _, m := range messages(carolEP.take()) {
		if m.Delayed {
			history = append(history, m)
		}
	}
	if len(history) != 2 || history[0].Body != "two" || history[1].Body != "three" || history[0].From != occ("lobby", "Bob") || history[1].To != carol {
		t.Fatalf("history on join: %+v", history)
	}

	// A join from an occupant under its own nick (a client that lost its
	// state) gets the whole welcome again.
	if err := f.join(carol, "lobby", "Carol", &crosstalk.RoomJoin{MaxStanzas: 1}); err != nil {
		t.Fatal(err)
	}
	again := carolEP.take()
	if ps := presences(again, crosstalk.PresenceAvailable); len(ps) != 3 || selfPresence(t, again).From != occ("lobby", "Carol") {
		t.Fatalf("rejoin: %d presences", len(ps))
	}
	if ms := messages(again); len(ms) != 2 || ms[0].Body != "three" || !ms[0].Delayed || ms[1].Body != "" {
		t.Fatalf("rejoin: history and subject %+v", ms)
	}
	aliceEP.take()
	bobEP.take()

	if err := f.join(carol, "lobby", "Bob", nil); !errors.Is(err, crosstalk.ErrConflict) {
		t.Fatalf("nickname taken: %v", err)
	}
	if err := f.join(carol, "lobby", "Caz", nil); err != nil {
		t.Fatal(err)
	}
	bobEvs := bobEP.take()
	un := presences(bobEvs, crosstalk.PresenceUnavailable)
	if len(un) != 1 || un[0].From != occ("lobby", "Carol") || !un[0].Occupant.HasCode(crosstalk.RoomStatusNickChanged) || un[0].Occupant.NewNick != "Caz" {
		t.Fatalf("nick change: %+v", un)
	}

	if err := f.hub.RouteMessage(f.ctx, &crosstalk.Message{From: bob, To: occ("lobby", "Caz"), Type: crosstalk.MessageChat, Body: "psst"}); err != nil {
		t.Fatal(err)
	}
	if ms := messages(carolEP.take()); len(ms) != 1 || ms[0].From != occ("lobby", "Bob") || ms[0].Body != "psst" {
		t.Fatalf("private message: %+v", ms)
	}

	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: bob, To: occ("lobby", "Bob"), Type: crosstalk.PresenceUnavailable}); err != nil {
		t.Fatal(err)
	}
	if un := presences(bobEP.take(), crosstalk.PresenceUnavailable); len(un) != 1 || !un[0].Occupant.HasCode(crosstalk.RoomStatusSelf) {
		t.Fatalf("bob's own leave: %+v", un)
	}
	if un := presences(aliceEP.take(), crosstalk.PresenceUnavailable); len(un) != 2 { // Carol's nick change, Bob's leave
		t.Fatalf("alice saw %d unavailable presences", len(un))
	}
	if err := f.say(bob, "lobby", "gone"); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a departed occupant posts: %v", err)
	}

	// An ending endpoint leaves; the empty temporary room is forgotten.
	f.hub.Unbind(f.ctx, carol, carolEP, nil)
	if un := presences(aliceEP.take(), crosstalk.PresenceUnavailable); len(un) != 1 || un[0].From != occ("lobby", "Caz") {
		t.Fatalf("unbind did not leave the room: %+v", un)
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: alice, Type: crosstalk.PresenceUnavailable}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.hub.RoomState(f.ctx, roomAddr("lobby")); !errors.Is(err, crosstalk.ErrNotFound) {
		t.Fatalf("an empty temporary room remains: %v", err)
	}
}

func TestRoomPermissions(t *testing.T) {
	f := roomFixture(t, t.TempDir()+"/r.db", "owner", "bob", "eve", "mallory")
	ownerEP, owner := f.online("owner/pc", 0)
	bobEP, bob := f.online("bob/pc", 0)
	eveEP, eve := f.online("eve/pc", 0)
	_, mallory := f.online("mallory/pc", 0)
	if err := f.join(owner, "club", "boss", nil); err != nil {
		t.Fatal(err)
	}
	cfg := crosstalk.DefaultRoomConfig()
	cfg.MembersOnly, cfg.Moderated, cfg.Password, cfg.MaxOccupants = true, true, "s3cret", 3
	if err := f.hub.ConfigureRoom(f.ctx, roomAddr("club"), bob, cfg); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a non-owner configures: %v", err)
	}
	if err := f.hub.ConfigureRoom(f.ctx, roomAddr("club"), owner, cfg); err != nil {
		t.Fatal(err)
	}
	if err := f.join(bob, "club", "bob", &crosstalk.RoomJoin{Password: "s3cret"}); !errors.Is(err, crosstalk.ErrMembersOnly) {
		t.Fatalf("a non-member joins a members-only room: %v", err)
	}
	for _, who := range []crosstalk.Address{bob, eve, mallory} {
		if err := f.hub.SetRoomAffiliation(f.ctx, roomAddr("club"), owner, who, crosstalk.AffiliationMember, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.join(bob, "club", "bob", &crosstalk.RoomJoin{Password: "wrong"}); !errors.Is(err, crosstalk.ErrNotAuthorized) {
		t.Fatalf("wrong password: %v", err)
	}
	for _, j := range []struct {
		a    crosstalk.Address
		nick string
	}{{bob, "bob"}, {eve, "eve"}} {
		if err := f.join(j.a, "club", j.nick, &crosstalk.RoomJoin{Password: "s3cret"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.join(mallory, "club", "mal", &crosstalk.RoomJoin{Password: "s3cret"}); !errors.Is(err, crosstalk.ErrRoomFull) {
		t.Fatalf("a fourth occupant in a room of three: %v", err)
	}

	// Moderated: a member is a participant and speaks; revoking voice silences.
	if err := f.say(bob, "club", "hi"); err != nil {
		t.Fatal(err)
	}
	if err := f.hub.SetRoomRole(f.ctx, roomAddr("club"), bob, "eve", crosstalk.RoleVisitor, ""); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a participant changes roles: %v", err)
	}
	if err := f.hub.SetRoomRole(f.ctx, roomAddr("club"), owner, "eve", crosstalk.RoleVisitor, "quiet"); err != nil {
		t.Fatal(err)
	}
	if err := f.say(eve, "club", "can I?"); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a visitor speaks in a moderated room: %v", err)
	}
	if err := f.hub.RouteMessage(f.ctx, &crosstalk.Message{From: eve, To: roomAddr("club"), Type: crosstalk.MessageGroupchat, Subject: "mine"}); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a visitor sets the subject: %v", err)
	}

	// Kick: 307 with the reason, and no more messages.
	eveEP.take()
	if err := f.hub.SetRoomRole(f.ctx, roomAddr("club"), owner, "eve", crosstalk.RoleNone, "bye"); err != nil {
		t.Fatal(err)
	}
	kicked := presences(eveEP.take(), crosstalk.PresenceUnavailable)
	if len(kicked) != 1 || !kicked[0].Occupant.HasCode(crosstalk.RoomStatusKicked) || kicked[0].Occupant.Reason != "bye" || !kicked[0].Occupant.HasCode(crosstalk.RoomStatusSelf) {
		t.Fatalf("kicked occupant hears: %+v", kicked)
	}
	if err := f.say(bob, "club", "after the kick"); err != nil {
		t.Fatal(err)
	}
	if ms := messages(eveEP.take()); len(ms) != 0 {
		t.Fatalf("a kicked occupant still receives %d messages", len(ms))
	}

	// Ban: the occupant is removed with 301 and cannot come back.
	bobEP.take()
	if err := f.hub.SetRoomAffiliation(f.ctx, roomAddr("club"), bob, owner, crosstalk.AffiliationNone, ""); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a member demotes the owner: %v", err)
	}
	if err := f.hub.SetRoomAffiliation(f.ctx, roomAddr("club"), owner, bob, crosstalk.AffiliationOutcast, "spam"); err != nil {
		t.Fatal(err)
	}
	banned := presences(bobEP.take(), crosstalk.PresenceUnavailable)
	if len(banned) != 1 || !banned[0].Occupant.HasCode(crosstalk.RoomStatusBanned) {
		t.Fatalf("banned occupant hears: %+v", banned)
	}
	if err := f.join(bob, "club", "bob", &crosstalk.RoomJoin{Password: "s3cret"}); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a banned user joins: %v", err)
	}
	if err := f.hub.SetRoomAffiliation(f.ctx, roomAddr("club"), owner, owner, crosstalk.AffiliationMember, ""); !errors.Is(err, crosstalk.ErrConflict) {
		t.Fatalf("the last owner steps down: %v", err)
	}
	ownerEvs := ownerEP.take()
	if len(presences(ownerEvs, crosstalk.PresenceUnavailable)) != 2 {
		t.Fatal("the owner did not see the kick and the ban")
	}
	if err := f.hub.DestroyRoom(f.ctx, roomAddr("club"), eve, ""); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a member destroys the room: %v", err)
	}
	if err := f.hub.DestroyRoom(f.ctx, roomAddr("club"), owner, "closing"); err != nil {
		t.Fatal(err)
	}
	if un := presences(ownerEP.take(), crosstalk.PresenceUnavailable); len(un) != 1 || un[0].Occupant.Reason != "closing" {
		t.Fatalf("destroy: %+v", un)
	}
	if _, _, err := f.hub.RoomState(f.ctx, roomAddr("club")); !errors.Is(err, crosstalk.ErrNotFound) {
		t.Fatalf("a destroyed room remains: %v", err)
	}
}

func TestRoomPersistentSurvivesRestart(t *testing.T) {
	path := t.TempDir() + "/r.db"
	{
		f := roomFixture(t, path, "owner", "bob")
		_, owner := f.online("owner/pc", 0)
		if err := f.join(owner, "Keep", "boss", nil); err != nil {
			t.Fatal(err)
		}
		cfg := crosstalk.DefaultRoomConfig()
		cfg.Persistent, cfg.Name = true, "Kept room"
		if err := f.hub.ConfigureRoom(f.ctx, roomAddr("keep"), owner, cfg); err != nil {
			t.Fatal(err)
		}
		if err := f.hub.RouteMessage(f.ctx, &crosstalk.Message{From: owner, To: roomAddr("keep"), Type: crosstalk.MessageGroupchat, Subject: "Welcome"}); err != nil {
			t.Fatal(err)
		}
		if err := f.hub.SetRoomAffiliation(f.ctx, roomAddr("keep"), owner, addr("bob"), crosstalk.AffiliationAdmin, ""); err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{"one", "two", "three"} {
			if err := f.say(owner, "keep", body); err != nil {
				t.Fatal(err)
			}
		}
		cfg.MembersOnly = true
		if err := f.hub.ConfigureRoom(f.ctx, roomAddr("keep"), owner, cfg); err != nil {
			t.Fatal(err)
		}
		if err := f.hub.Close(f.ctx); err != nil {
			t.Fatal(err)
		}
		f.store.Close()
	}
	f := roomFixture(t, path, "eve")
	r, occs, err := f.hub.RoomState(f.ctx, roomAddr("keep"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Config.Name != "Kept room" || r.Subject != "Welcome" || r.Affiliations[addr("bob")] != crosstalk.AffiliationAdmin ||
		r.Affiliations[addr("owner")] != crosstalk.AffiliationOwner || len(occs) != 0 {
		t.Fatalf("after restart: %+v, %d occupants", r, len(occs))
	}
	rooms, err := f.hub.PublicRooms(f.ctx, service)
	if err != nil || len(rooms) != 1 || rooms[0].Address != roomAddr("keep") {
		t.Fatalf("public rooms: %+v %v", rooms, err)
	}
	bobEP, bob := f.online("bob/pc", 0)
	if err := f.join(bob, "keep", "bob", nil); err != nil {
		t.Fatal(err)
	}
	evs := bobEP.take()
	self := selfPresence(t, evs)
	if self.Occupant.Role != crosstalk.RoleModerator || self.Occupant.Affiliation != crosstalk.AffiliationAdmin {
		t.Fatalf("an admin enters as %+v", self.Occupant)
	}
	var history []string
	for _, m := range messages(evs) {
		if m.Delayed {
			history = append(history, m.Body)
		}
	}
	if strings.Join(history, ",") != "one,two,three" {
		t.Fatalf("history after a restart: %q", history)
	}

	// The room's archive: its admin reads it; a non-member of a
	// members-only room may not.
	page, err := f.hub.QueryRoomArchive(f.ctx, roomAddr("keep"), bob, crosstalk.ArchiveQuery{Last: true, Max: 2})
	if err != nil || len(page.Messages) != 2 || page.Messages[1].Message.Body != "three" || page.Messages[1].Message.From != occ("keep", "boss") {
		t.Fatalf("room archive: %+v %v", page.Messages, err)
	}
	if _, err := f.hub.QueryRoomArchive(f.ctx, roomAddr("keep"), addr("eve"), crosstalk.ArchiveQuery{}); !errors.Is(err, crosstalk.ErrForbidden) {
		t.Fatalf("a non-member reads a members-only room's archive: %v", err)
	}
}
