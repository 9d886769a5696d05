package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

const roomService = "conference.localhost"

// newRoomEnv is newEnv with the room service at conference.localhost.
func newRoomEnv(t *testing.T, users ...string) *testEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/sip.db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		addr := crosstalk.MustParseAddress(u + "@localhost")
		creds, err := crosstalk.NewCredentials(addr, u+"-password", crosstalk.MinSCRAMIterations)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAccount(ctx, crosstalk.Account{Address: addr, Credentials: creds, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"localhost"}, RoomDomains: []string{roomService}, Archive: true},
		st, zerolog.New(newLogBuffer(t)).Level(zerolog.WarnLevel))
	return startEnv(t, st, hub, nil)
}

// sayRoom sends a MESSAGE from u to room@conference.localhost.
func (u *testUA) sayRoom(e *testEnv, room, body string) *sipmsg.Response {
	u.t.Helper()
	uri := sipmsg.Uri{Scheme: "sip", User: room, Host: roomService}
	req := u.request(sipmsg.MESSAGE, uri, e.udp)
	req.To().Address.Host = roomService
	ct := sipmsg.ContentTypeHeader("text/plain;charset=UTF-8")
	req.AppendHeader(&ct)
	req.SetBody([]byte(body))
	return u.doAuth(req, u.password())
}

// expectRoom waits for a MESSAGE from the room and checks its body, and its
// From display name when display is set.
func (u *testUA) expectRoom(room, display, body string) {
	u.t.Helper()
	got := u.expect(5 * time.Second)
	if got.Method != sipmsg.MESSAGE || got.From().Address.User != room || got.From().Address.Host != roomService {
		u.t.Fatalf("%s: want a MESSAGE from the room %s, got\n%s", u.user, room, got.String())
	}
	if string(got.Body()) != body || got.From().DisplayName != display {
		u.t.Fatalf("%s: want %q from %q, got %q from %q", u.user, body, display, got.Body(), got.From().DisplayName)
	}
}

// endpointOf returns the hub address of user's only binding.
func endpointOf(t *testing.T, e *testEnv, user string) crosstalk.Address {
	t.Helper()
	var eps []crosstalk.Address
	waitFor(t, func() bool {
		eps = e.hub.Endpoints(crosstalk.MustParseAddress(user + "@localhost"))
		return len(eps) == 1
	})
	return eps[0]
}

// TestRoomSIPOccupants: SIP users join a room by posting to it, talk with
// each other and with an occupant of another protocol (a hub endpoint
// standing for an XMPP client), see subject changes and history, change
// nickname, are kicked (and stop receiving) and banned (403).
func TestRoomSIPOccupants(t *testing.T) {
	e := newRoomEnv(t, "alice", "bob", "carol")
	ctx := context.Background()
	room := crosstalk.MustParseAddress("lobby@" + roomService)
	a, b := newUA(t, "alice"), newUA(t, "bob")
	wantStatus(t, a.register(e, 60), 200)
	wantStatus(t, b.register(e, 60), 200)
	aliceEP := endpointOf(t, e, "alice")

	// alice creates the room by posting (owner → moderator); her own message is not reflected.
	wantStatus(t, a.sayRoom(e, "lobby", "hello ☕"), 200)
	a.expectRoom("lobby", "", "*** You joined lobby@conference.localhost as alice (moderator); /nick NAME, /subject TEXT, /msg NICK TEXT, /who, /leave")
	if o, ok := e.hub.RoomOccupant(room, aliceEP); !ok || o.Nick != "alice" || o.Affiliation != crosstalk.AffiliationOwner {
		t.Fatalf("alice is %+v, %v", o, ok)
	}

	// carol, on another protocol, is in the room as "bob": the SIP bob gets bob2.
	carol := &chanEndpoint{events: make(chan crosstalk.Event, 64)}
	carolAddr, err := e.hub.Bind(ctx, crosstalk.MustParseAddress("carol@localhost/xmpp"), carol)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.hub.SetPresence(ctx, &crosstalk.Presence{From: carolAddr, To: occ(room, "bob"), Type: crosstalk.PresenceAvailable, Join: &crosstalk.RoomJoin{MaxStanzas: 0}}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, b.sayRoom(e, "lobby", "grüße"), 200)
	b.expectRoom("lobby", "", "*** You joined lobby@conference.localhost as bob2 (participant); /nick NAME, /subject TEXT, /msg NICK TEXT, /who, /leave")
	b.expectRoom("lobby", "alice", "alice: hello ☕") // history
	a.expectRoom("lobby", "bob2", "bob2: grüße")
	// The other protocol sees bob2 join (presence) and talk.
	waitEvent(t, carol, func(ev crosstalk.Event) bool {
		p, ok := ev.(*crosstalk.Presence)
		return ok && p.From == occ(room, "bob2") && p.Type == crosstalk.PresenceAvailable && p.Occupant != nil && p.Occupant.Role == crosstalk.RoleParticipant
	})
	waitEvent(t, carol, func(ev crosstalk.Event) bool {
		m, ok := ev.(*crosstalk.Message)
		return ok && m.From == occ(room, "bob2") && m.Body == "grüße" && m.Type == crosstalk.MessageGroupchat
	})
	// And talks back.
	if err := e.hub.RouteMessage(ctx, &crosstalk.Message{From: carolAddr, To: room, Type: crosstalk.MessageGroupchat, Body: "from xmpp"}); err != nil {
		t.Fatal(err)
	}
	a.expectRoom("lobby", "bob", "bob: from xmpp")
	b.expectRoom("lobby", "bob", "bob: from xmpp")

	// /nick, /subject, /msg, /who.
	wantStatus(t, b.sayRoom(e, "lobby", "/nick robert"), 200)
	b.expectRoom("lobby", "", "*** You are now known as robert")
	waitEvent(t, carol, func(ev crosstalk.Event) bool {
		p, ok := ev.(*crosstalk.Presence)
		return ok && p.Type == crosstalk.PresenceUnavailable && p.Occupant != nil && p.Occupant.NewNick == "robert"
	})
	wantStatus(t, a.sayRoom(e, "lobby", "/subject Café"), 200)
	b.expectRoom("lobby", "alice", "*** alice changed the subject to: Café")
	wantStatus(t, a.sayRoom(e, "lobby", "/msg robert psst"), 200)
	b.expectRoom("lobby", "alice", "alice (private): psst")
	wantStatus(t, b.sayRoom(e, "lobby", "/who"), 200)
	b.expectRoom("lobby", "", "*** 3 in the room (you are robert): alice, bob, robert")
	wantStatus(t, b.sayRoom(e, "lobby", "/subject"), 400)

	// Kick: bob is told and stops receiving.
	if err := e.hub.SetRoomRole(ctx, room, aliceEP, "robert", crosstalk.RoleNone, "behave"); err != nil {
		t.Fatal(err)
	}
	b.expectRoom("lobby", "", "*** You were kicked from lobby@conference.localhost (behave)")
	wantStatus(t, a.sayRoom(e, "lobby", "after the kick"), 200)
	b.expectNothing(300 * time.Millisecond)

	// Ban: bob's next message is refused with 403 and he is not in the room.
	if err := e.hub.SetRoomAffiliation(ctx, room, aliceEP, crosstalk.MustParseAddress("bob@localhost"), crosstalk.AffiliationOutcast, ""); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, b.sayRoom(e, "lobby", "let me in"), 403)
	if _, in := e.hub.RoomOccupant(room, endpointOf(t, e, "bob")); in {
		t.Fatal("a banned SIP user is an occupant")
	}

	// The room's archive holds the SIP occupants' messages under their nicknames.
	waitFor(t, func() bool {
		page, err := e.hub.QueryRoomArchive(ctx, room, aliceEP, crosstalk.ArchiveQuery{})
		if err != nil {
			return false
		}
		for _, m := range page.Messages {
			if m.Message.Body == "grüße" && m.With == occ(room, "bob2") {
				return true
			}
		}
		return false
	})

	// /leave: alice leaves; carol sees her go.
	wantStatus(t, a.sayRoom(e, "lobby", "/leave"), 200)
	a.expectRoom("lobby", "", "*** You left lobby@conference.localhost")
	if _, in := e.hub.RoomOccupant(room, aliceEP); in {
		t.Fatal("alice is still in the room after /leave")
	}
	waitEvent(t, carol, func(ev crosstalk.Event) bool {
		p, ok := ev.(*crosstalk.Presence)
		return ok && p.From == occ(room, "alice") && p.Type == crosstalk.PresenceUnavailable
	})
}

// TestRoomSIPPermissions: members-only and moderated rooms bind SIP
// occupants as they bind XMPP ones; an unregistered user cannot post.
func TestRoomSIPPermissions(t *testing.T) {
	e := newRoomEnv(t, "alice", "bob")
	ctx := context.Background()
	a, b := newUA(t, "alice"), newUA(t, "bob")

	// Not registered: 403.
	wantStatus(t, b.sayRoom(e, "club", "hi"), 403)
	wantStatus(t, a.register(e, 60), 200)
	wantStatus(t, b.register(e, 60), 200)
	aliceEP := endpointOf(t, e, "alice")

	wantStatus(t, a.sayRoom(e, "club", "first"), 200)
	a.expect(5 * time.Second) // joined
	club := crosstalk.MustParseAddress("club@" + roomService)
	cfg := crosstalk.DefaultRoomConfig()
	cfg.MembersOnly = true
	if err := e.hub.ConfigureRoom(ctx, club, aliceEP, cfg); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, b.sayRoom(e, "club", "let me in"), 403)
	if err := e.hub.SetRoomAffiliation(ctx, club, aliceEP, crosstalk.MustParseAddress("bob@localhost"), crosstalk.AffiliationMember, ""); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, b.sayRoom(e, "club", "thanks"), 200)
	b.expectRoom("club", "", "*** You joined club@conference.localhost as bob (participant); /nick NAME, /subject TEXT, /msg NICK TEXT, /who, /leave")
	b.expectRoom("club", "alice", "alice: first")
	a.expectRoom("club", "bob", "bob: thanks")

	// Moderated: bob loses voice, is told, and his messages get 403.
	if err := e.hub.SetRoomRole(ctx, club, aliceEP, "bob", crosstalk.RoleVisitor, ""); err != nil {
		t.Fatal(err)
	}
	b.expectRoom("club", "", "*** Your role is now visitor")
	wantStatus(t, b.sayRoom(e, "club", "can I talk?"), 403)
	a.expectNothing(200 * time.Millisecond)

	// Not text: 415.
	req := b.request(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: "club", Host: roomService}, e.udp)
	ct := sipmsg.ContentTypeHeader("application/im-iscomposing+xml")
	req.AppendHeader(&ct)
	req.SetBody([]byte("<isComposing/>"))
	wantStatus(t, b.doAuth(req, b.password()), 415)
}

// TestRoomSIPRegistrationEnds: the room drops a SIP occupant when its
// binding is unregistered, and when it expires.
func TestRoomSIPRegistrationEnds(t *testing.T) {
	e := newRoomEnv(t, "alice", "bob")
	room := crosstalk.MustParseAddress("lobby@" + roomService)
	a, b := newUA(t, "alice"), newUA(t, "bob")
	wantStatus(t, a.register(e, 60), 200)
	wantStatus(t, b.register(e, 60), 200)
	wantStatus(t, a.sayRoom(e, "lobby", "stay"), 200)
	wantStatus(t, b.sayRoom(e, "lobby", "hi"), 200)
	bobEP := endpointOf(t, e, "bob")
	if _, in := e.hub.RoomOccupant(room, bobEP); !in {
		t.Fatal("bob did not join")
	}
	wantStatus(t, b.register(e, 0), 200) // unregister
	waitFor(t, func() bool { _, in := e.hub.RoomOccupant(room, bobEP); return !in })

	wantStatus(t, b.register(e, 1), 200) // expires in a second
	wantStatus(t, b.sayRoom(e, "lobby", "back"), 200)
	bobEP = endpointOf(t, e, "bob")
	if o, in := e.hub.RoomOccupant(room, bobEP); !in || o.Nick != "bob" {
		t.Fatalf("bob did not join again: %+v", o)
	}
	waitFor(t, func() bool { _, in := e.hub.RoomOccupant(room, bobEP); return !in })
	_, occs, err := e.hub.RoomState(context.Background(), room)
	if err != nil || len(occs) != 1 || occs[0].Nick != "alice" {
		t.Fatalf("occupants %+v, %v", occs, err)
	}
}

// waitEvent reads an endpoint's events until one matches.
func waitEvent(t *testing.T, c *chanEndpoint, match func(crosstalk.Event) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	var seen []string
	for {
		select {
		case ev := <-c.events:
			if match(ev) {
				return
			}
			seen = append(seen, strings.TrimSpace(strings.ReplaceAll(fmtEvent(ev), "\n", " ")))
		case <-deadline:
			t.Fatalf("the awaited event did not come; seen:\n%s", strings.Join(seen, "\n"))
		}
	}
}

func fmtEvent(ev crosstalk.Event) string {
	switch e := ev.(type) {
	case *crosstalk.Message:
		return "message " + e.From.String() + " " + e.Body
	case *crosstalk.Presence:
		return "presence " + e.From.String()
	}
	return "event"
}

func TestParseRoomCommand(t *testing.T) {
	for i, c := range []struct {
		in   string
		want roomCommand
		err  bool
	}{
		0: {in: "hello", want: roomCommand{kind: roomSay, text: "hello"}},
		1: {in: "/nick bob", want: roomCommand{kind: roomNick, arg: "bob"}},
		2: {in: "/nick", err: true},
		3: {in: "/nick two words", err: true},
		4: {in: "/leave", want: roomCommand{kind: roomLeave}},
		5: {in: "/subject New topic", want: roomCommand{kind: roomSubject, arg: "New topic"}},
		6: {in: "/msg bob hi there", want: roomCommand{kind: roomPrivate, arg: "bob", text: "hi there"}},
		7: {in: "/msg bob", err: true},
		8: {in: "/me waves", want: roomCommand{kind: roomSay, text: "/me waves"}},
		9: {in: "/WHO", want: roomCommand{kind: roomWho}},
	} {
		got, err := parseRoomCommand(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%d: parseRoomCommand(%q) = %+v, %v", i, c.in, got, err)
		}
	}
}

func FuzzParseRoomCommand(f *testing.F) {
	for _, s := range []string{"hi", "/nick a", "/msg a b", "/subject x", "/leave", "/who", "/", "/nick \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, err := parseRoomCommand(body)
		if err != nil {
			return
		}
		if c.kind == roomSay && c.text != body {
			t.Fatalf("text %q changed to %q", body, c.text)
		}
		if (c.kind == roomNick || c.kind == roomPrivate || c.kind == roomSubject) && c.arg == "" {
			t.Fatalf("%q: command without argument", body)
		}
	})
}

// occ returns room/nick.
func occ(room crosstalk.Address, nick string) crosstalk.Address {
	a, err := room.WithResource(nick)
	if err != nil {
		panic(err)
	}
	return a
}
