package storetest

import (
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

func normRoom(r crosstalk.Room) crosstalk.Room {
	r.Created = us(r.Created)
	if len(r.Affiliations) == 0 {
		r.Affiliations = nil
	}
	return r
}

func testRooms(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	const service = "conference.example.com"
	r1 := addr("room1@" + service)

	_, err := s.GetRoom(ctx, r1)
	wantErr(t, "get missing room", err, crosstalk.ErrNotFound)
	wantErr(t, "delete missing room", s.DeleteRoom(ctx, r1), crosstalk.ErrNotFound)
	l, err := s.ListRooms(ctx, service)
	must(t, err)
	if len(l) != 0 {
		t.Fatalf("rooms of an empty service: %+v", l)
	}

	room := crosstalk.Room{
		Address: r1,
		Config: crosstalk.RoomConfig{
			Name: "Room One ✓", Description: "a 'quoted' room", Persistent: true, MembersOnly: true,
			Moderated: true, Public: true, Password: "s3cret", MaxOccupants: 42, HistoryLength: 20,
			WhoIs: crosstalk.WhoIsAnyone,
		},
		Subject: "today: tests",
		Affiliations: map[crosstalk.Address]crosstalk.Affiliation{
			addr("alice@example.com"): crosstalk.AffiliationOwner,
			addr("bob@example.com"):   crosstalk.AffiliationMember,
			addr("carol@example.org"): crosstalk.AffiliationAdmin,
			addr("troll@example.net"): crosstalk.AffiliationOutcast,
			addr("evil.example"):      crosstalk.AffiliationOutcast,
		},
		Created: base,
	}
	must(t, s.PutRoom(ctx, room))
	got, err := s.GetRoom(ctx, r1)
	must(t, err)
	equal(t, "room", normRoom(got), normRoom(room))

	// Replace: configuration, subject and affiliations all change.
	room.Config = crosstalk.RoomConfig{Name: "Renamed", HistoryLength: 5}
	room.Subject = ""
	room.Affiliations = map[crosstalk.Address]crosstalk.Affiliation{
		addr("alice@example.com"): crosstalk.AffiliationOwner,
		addr("dave@example.com"):  crosstalk.AffiliationAdmin,
	}
	must(t, s.PutRoom(ctx, room))
	got, err = s.GetRoom(ctx, r1)
	must(t, err)
	equal(t, "replaced room", normRoom(got), normRoom(room))

	// No affiliations at all; AffiliationNone entries are the same as absent.
	r3 := crosstalk.Room{Address: addr("room3@" + service), Config: crosstalk.RoomConfig{Persistent: true}, Created: base.Add(time.Hour),
		Affiliations: map[crosstalk.Address]crosstalk.Affiliation{addr("x@example.com"): crosstalk.AffiliationNone}}
	r2 := crosstalk.Room{Address: addr("room2@" + service), Created: base}
	other := crosstalk.Room{Address: addr("room1@muc.example.org"), Created: base}
	for _, r := range []crosstalk.Room{r3, r2, other} {
		must(t, s.PutRoom(ctx, r))
	}
	r3.Affiliations = nil
	got, err = s.GetRoom(ctx, r3.Address)
	must(t, err)
	equal(t, "room without affiliations", normRoom(got), normRoom(r3))

	l, err = s.ListRooms(ctx, service)
	must(t, err)
	if len(l) != 3 {
		t.Fatalf("rooms of %s: %d, want 3", service, len(l))
	}
	for i, want := range []crosstalk.Room{room, r2, r3} {
		equal(t, "listed room", normRoom(l[i]), normRoom(want))
	}
	l, err = s.ListRooms(ctx, "muc.example.org")
	must(t, err)
	if len(l) != 1 || l[0].Address != other.Address {
		t.Fatalf("rooms of muc.example.org: %+v", l)
	}

	must(t, s.DeleteRoom(ctx, r1))
	_, err = s.GetRoom(ctx, r1)
	wantErr(t, "get deleted room", err, crosstalk.ErrNotFound)
	wantErr(t, "delete twice", s.DeleteRoom(ctx, r1), crosstalk.ErrNotFound)
	l, err = s.ListRooms(ctx, service)
	must(t, err)
	if len(l) != 2 || l[0].Address != r2.Address || l[1].Address != r3.Address {
		t.Fatalf("rooms after delete: %+v", l)
	}
	// A room made again under a deleted address has no old affiliations.
	must(t, s.PutRoom(ctx, crosstalk.Room{Address: r1, Created: base}))
	got, err = s.GetRoom(ctx, r1)
	must(t, err)
	if len(got.Affiliations) != 0 {
		t.Fatalf("recreated room kept affiliations %v", got.Affiliations)
	}
}

func normReg(r crosstalk.Registration) crosstalk.Registration {
	r.Expires = us(r.Expires)
	r.Path = normStrings(r.Path)
	return r
}

func testRegistrations(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")
	now := base

	a := crosstalk.Registration{AOR: alice, Contact: "sip:alice@192.0.2.10:5060;transport=udp", Resource: "sip-a",
		CallID: "call-a@192.0.2.10", CSeq: 1, Q: 500, Received: "udp:192.0.2.10:5060", UserAgent: "Phone A/1.0",
		Expires: now.Add(time.Hour)}
	b := crosstalk.Registration{AOR: alice, Contact: "sip:alice@198.51.100.7:5061;transport=tls", InstanceID: "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>",
		RegID: 1, Resource: "sip-b", CallID: "call-b", CSeq: 4294967295, Q: 1000,
		Path:     []string{"<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr;ob>"},
		Received: "tls:198.51.100.7:40000", UserAgent: "Phone B", Expires: now.Add(30 * time.Second)}
	c := crosstalk.Registration{AOR: alice, Contact: "sip:alice@192.0.2.0:5060", Resource: "sip-c", CallID: "call-c",
		CSeq: 7, Q: 500, Expires: now.Add(time.Microsecond)}
	expired := crosstalk.Registration{AOR: alice, Contact: "sip:alice@203.0.113.1", Q: 1000, Expires: now.Add(-time.Second)}
	atNow := crosstalk.Registration{AOR: alice, Contact: "sip:alice@203.0.113.2", Q: 1000, Expires: now}
	bobs := crosstalk.Registration{AOR: bob, Contact: "sip:bob@192.0.2.20", Q: 1000, Expires: now.Add(time.Hour)}
	for _, r := range []crosstalk.Registration{a, b, c, expired, atNow, bobs} {
		must(t, s.PutRegistration(ctx, r))
	}

	list := func(what string, at time.Time, want ...crosstalk.Registration) {
		t.Helper()
		got, err := s.ListRegistrations(ctx, alice, at)
		must(t, err)
		if len(got) != len(want) {
			t.Fatalf("%s: %d bindings %+v, want %d", what, len(got), got, len(want))
		}
		for i := range want {
			equal(t, what, normReg(got[i]), normReg(want[i]))
		}
	}
	// q 1000 first, then q 500 by key (c's contact sorts before a's).
	if c.Key() >= a.Key() {
		t.Fatal("test data: c should sort before a")
	}
	list("bindings at now", now, b, c, a)
	list("bindings a minute later", now.Add(time.Minute), a)

	// Replace by key: same contact, new values.
	a.CSeq, a.Expires, a.Q, a.Path = 2, now.Add(2*time.Hour), 900, []string{"<sip:p;lr>"}
	must(t, s.PutRegistration(ctx, a))
	// Replace by instance: a new contact under the same +sip.instance and reg-id.
	b.Contact, b.CSeq = "sip:alice@198.51.100.8:5061;transport=tls", 1
	b.Path = nil
	must(t, s.PutRegistration(ctx, b))
	list("after replacing", now, b, a, c)

	wantErr(t, "delete missing binding", s.DeleteRegistration(ctx, alice, "sip:nobody@192.0.2.1"), crosstalk.ErrNotFound)
	wantErr(t, "delete bob's binding under alice", s.DeleteRegistration(ctx, alice, bobs.Key()), crosstalk.ErrNotFound)
	must(t, s.DeleteRegistration(ctx, alice, a.Key()))
	wantErr(t, "delete twice", s.DeleteRegistration(ctx, alice, a.Key()), crosstalk.ErrNotFound)
	list("after delete", now, b, c)

	n, err := s.DeleteExpiredRegistrations(ctx, now)
	must(t, err)
	if n != 2 {
		t.Fatalf("deleted %d expired bindings at now, want 2", n)
	}
	n, err = s.DeleteExpiredRegistrations(ctx, now)
	must(t, err)
	if n != 0 {
		t.Fatalf("deleted %d expired bindings twice", n)
	}
	// The expired ones are gone even when listed at an earlier time.
	list("expired ones removed", now.Add(-time.Hour), b, c)
	n, err = s.DeleteExpiredRegistrations(ctx, now.Add(time.Minute))
	must(t, err)
	if n != 2 {
		t.Fatalf("deleted %d bindings a minute later, want 2", n)
	}
	got, err := s.ListRegistrations(ctx, bob, now)
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("bob's bindings: %+v", got)
	}
	equal(t, "bob's binding", normReg(got[0]), normReg(bobs))
}
