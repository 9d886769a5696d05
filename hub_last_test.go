package crosstalk_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// TestLastActivityWrittenBehind checks that a recorded last activity is
// read back through the hub at once, reaches the store within the delay
// (many accounts in one go), and that the newest record wins.
func TestLastActivityWrittenBehind(t *testing.T) {
	f := newFixture(t, false)
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	const n = 600 // more than one transaction's worth
	for i := range n {
		owner := addr(fmt.Sprint("user", i))
		if err := f.hub.PutLastActivity(f.ctx, owner, crosstalk.LastActivity{At: at, Status: "first"}); err != nil {
			t.Fatal(err)
		}
		if err := f.hub.PutLastActivity(f.ctx, owner, crosstalk.LastActivity{At: at.Add(time.Second), Status: fmt.Sprint("gone ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	la, err := f.hub.GetLastActivity(f.ctx, addr("user7/phone"))
	if err != nil || la.Status != "gone 7" || !la.At.Equal(at.Add(time.Second)) {
		t.Fatalf("read through the hub: %+v, %v", la, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := range n {
		for {
			la, err := f.store.GetLastActivity(f.ctx, addr(fmt.Sprint("user", i)))
			if err == nil && la.Status == fmt.Sprint("gone ", i) {
				break
			}
			if err != nil && !errors.Is(err, crosstalk.ErrNotFound) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("user%d: store has %+v, %v", i, la, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, err := f.hub.GetLastActivity(f.ctx, addr("nobody")); !errors.Is(err, crosstalk.ErrNotFound) {
		t.Fatalf("never recorded: %v, want ErrNotFound", err)
	}
}

// TestLastActivityCloseAndDelete checks that Close writes what is pending,
// that a record after Close is written at once, and that deleting an
// account drops its pending record instead of writing it after the
// deletion.
func TestLastActivityCloseAndDelete(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	la := crosstalk.LastActivity{At: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), Status: "bye"}
	for _, u := range []string{"alice", "bob"} {
		if err := f.hub.PutLastActivity(f.ctx, addr(u), la); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.hub.DeleteAccount(f.ctx, addr("bob")); err != nil {
		t.Fatal(err)
	}
	if err := f.hub.Close(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := f.store.GetLastActivity(f.ctx, addr("alice")); err != nil || got.Status != "bye" {
		t.Fatalf("alice after Close: %+v, %v", got, err)
	}
	if got, err := f.store.GetLastActivity(f.ctx, addr("bob")); !errors.Is(err, crosstalk.ErrNotFound) {
		t.Fatalf("deleted bob: %+v, %v, want ErrNotFound", got, err)
	}
	late := crosstalk.LastActivity{At: la.At.Add(time.Hour), Status: "late"}
	if err := f.hub.PutLastActivity(f.ctx, addr("alice"), late); err != nil {
		t.Fatal(err)
	}
	if got, err := f.store.GetLastActivity(f.ctx, addr("alice")); err != nil || got.Status != "late" {
		t.Fatalf("alice after a record past Close: %+v, %v", got, err)
	}
}
