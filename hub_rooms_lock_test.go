package crosstalk_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// TestRoomLockedUntilConfigured: with LockNewRooms, a room created by a
// join that can configure it is locked (others get ErrNotFound, it is not
// listed) until its owner configures it or accepts it as an instant room;
// a room created by a join that cannot configure (a SIP occupant) is open
// at once; without LockNewRooms nothing is locked.
func TestRoomLockedUntilConfigured(t *testing.T) {
	for _, lock := range []bool{true, false} {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, t.TempDir()+"/r.db", zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}, RoomDomains: []string{service}, Archive: true, LockNewRooms: lock}, st, zerolog.Nop())
		t.Cleanup(func() { _ = hub.Close(ctx) })
		f := &fixture{t: t, ctx: ctx, hub: hub, store: st}
		_, alice := f.online("alice/pc", 0)
		_, bob := f.online("bob/pc", 0)

		if err := f.join(alice, "reserved", "Alice", &crosstalk.RoomJoin{MaxStanzas: -1, Configurable: true}); err != nil {
			t.Fatal(err)
		}
		r, _, err := hub.RoomState(ctx, roomAddr("reserved"))
		if err != nil || r.Locked != lock {
			t.Fatalf("lock=%v: room locked %v, %v", lock, r.Locked, err)
		}
		public, err := hub.PublicRooms(ctx, service)
		if err != nil || (len(public) == 0) != lock {
			t.Fatalf("lock=%v: public rooms %v, %v", lock, public, err)
		}
		err = f.join(bob, "reserved", "Bob", &crosstalk.RoomJoin{MaxStanzas: -1, Configurable: true})
		if lock && !errors.Is(err, crosstalk.ErrNotFound) || !lock && err != nil {
			t.Fatalf("lock=%v: bob's join into the new room: %v", lock, err)
		}
		if !lock {
			continue
		}
		cfg := r.Config
		cfg.Name = "Reserved"
		if err := hub.ConfigureRoom(ctx, roomAddr("reserved"), alice, cfg); err != nil {
			t.Fatal(err)
		}
		if err := f.join(bob, "reserved", "Bob", nil); err != nil {
			t.Fatalf("bob's join after configuration: %v", err)
		}

		// Created by a join that cannot configure: open at once.
		if err := f.join(bob, "sipmade", "bob", &crosstalk.RoomJoin{MaxStanzas: -1}); err != nil {
			t.Fatal(err)
		}
		if err := f.join(alice, "sipmade", "Alice", nil); err != nil {
			t.Fatalf("join into a room a SIP occupant made: %v", err)
		}
	}
}
