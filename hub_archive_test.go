package crosstalk_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// TestArchiveBatchedReadYourWrites routes messages from four goroutines and
// checks that a query through the hub right after sees every one of them,
// in both parties' archives, each once, with ids in archive order.
func TestArchiveBatchedReadYourWrites(t *testing.T) {
	f := newFixture(t, true, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	_, bob := f.online("bob/phone", 0)
	const workers, each = 4, 150
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m := &crosstalk.Message{ID: fmt.Sprint(w, "-", i), From: alice, To: bob.Bare(), Type: crosstalk.MessageChat, Body: "hi"}
				if err := f.hub.RouteMessage(f.ctx, m); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, owner := range []string{"alice", "bob"} {
		seen := map[string]bool{}
		after := ""
		for range workers * each {
			page, err := f.hub.QueryArchive(f.ctx, addr(owner), crosstalk.ArchiveQuery{After: after, Max: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Messages {
				if seen[m.Message.ID] {
					t.Fatalf("%s: message %s archived twice", owner, m.Message.ID)
				}
				seen[m.Message.ID] = true
				after = m.ID
			}
			if page.Complete || len(page.Messages) == 0 {
				break
			}
		}
		if len(seen) != workers*each {
			t.Fatalf("%s's archive holds %d of %d messages", owner, len(seen), workers*each)
		}
	}
}

// TestArchiveCloseWritesQueue checks that Close writes every queued entry
// before it returns, and that routing after Close reports the shutdown.
func TestArchiveCloseWritesQueue(t *testing.T) {
	f := newFixture(t, true, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	_, bob := f.online("bob/phone", 0)
	const n = 500
	for i := range n {
		if err := f.hub.RouteMessage(f.ctx, &crosstalk.Message{ID: fmt.Sprint(i), From: alice, To: bob, Type: crosstalk.MessageChat, Body: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.hub.Close(f.ctx); err != nil {
		t.Fatal(err)
	}
	page, err := f.store.QueryArchive(f.ctx, addr("bob"), crosstalk.ArchiveQuery{Max: n + 1})
	if err != nil || len(page.Messages) != n {
		t.Fatalf("after Close the store holds %d of %d entries (%v)", len(page.Messages), n, err)
	}
	err = f.hub.RouteMessage(f.ctx, &crosstalk.Message{From: alice, To: addr("bob"), Type: crosstalk.MessageChat, Body: "late"})
	if !errors.Is(err, crosstalk.ErrShuttingDown) {
		t.Fatalf("routing after Close: %v, want ErrShuttingDown", err)
	}
}

// TestArchiveDeleteAccountLeavesNothing checks that deleting an account
// right after its messages were routed leaves no archive entry of it: the
// queue is written before the account is deleted.
func TestArchiveDeleteAccountLeavesNothing(t *testing.T) {
	f := newFixture(t, true, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	for i := range 50 {
		if err := f.hub.RouteMessage(f.ctx, &crosstalk.Message{ID: fmt.Sprint(i), From: alice, To: addr("bob"), Type: crosstalk.MessageChat, Body: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.hub.DeleteAccount(f.ctx, addr("bob")); err != nil {
		t.Fatal(err)
	}
	page, err := f.store.QueryArchive(f.ctx, addr("bob"), crosstalk.ArchiveQuery{})
	if err != nil || len(page.Messages) != 0 {
		t.Fatalf("deleted account keeps %d archive entries (%v)", len(page.Messages), err)
	}
	if page, _ := f.hub.QueryArchive(f.ctx, addr("alice"), crosstalk.ArchiveQuery{Max: 100}); len(page.Messages) != 50 {
		t.Fatalf("alice's archive holds %d of 50", len(page.Messages))
	}
}

// TestArchiveEnds checks the first and last messages the hub reports for
// an archive: none while it is empty, then the oldest and the newest of
// what was routed just before (read after the writer caught up), and
// nothing for an account whose archive is untouched; a hub without
// archives reports none.
func TestArchiveEnds(t *testing.T) {
	f := newFixture(t, true, "alice", "bob", "carol")
	_, alice := f.online("alice/pc", 0)
	if first, last, err := f.hub.ArchiveEnds(f.ctx, addr("alice")); err != nil || first != nil || last != nil {
		t.Fatalf("empty archive: %v %v %v", first, last, err)
	}
	for i := range 5 {
		if err := f.hub.RouteMessage(f.ctx, &crosstalk.Message{ID: fmt.Sprint("m", i), From: alice, To: addr("bob"), Type: crosstalk.MessageChat, Body: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := f.hub.QueryArchive(f.ctx, addr("bob"), crosstalk.ArchiveQuery{Max: 10})
	if err != nil || len(page.Messages) != 5 {
		t.Fatalf("bob's archive: %d messages (%v)", len(page.Messages), err)
	}
	first, last, err := f.hub.ArchiveEnds(f.ctx, alice) // a full address reads the account's archive
	if err != nil || first == nil || last == nil || first.Message.ID != "m0" || last.Message.ID != "m4" || first.ID >= last.ID {
		t.Fatalf("alice's ends: %+v %+v %v", first, last, err)
	}
	if first, last, err := f.hub.ArchiveEnds(f.ctx, addr("bob")); err != nil || first.ID != page.Messages[0].ID || last.ID != page.Messages[4].ID {
		t.Fatalf("bob's ends: %+v %+v %v", first, last, err)
	}
	if first, _, err := f.hub.ArchiveEnds(f.ctx, addr("carol")); err != nil || first != nil {
		t.Fatalf("carol's ends: %+v %v", first, err)
	}

	off := newFixture(t, false, "alice", "bob")
	_, a := off.online("alice/pc", 0)
	if err := off.hub.RouteMessage(off.ctx, &crosstalk.Message{From: a, To: addr("bob"), Type: crosstalk.MessageChat, Body: "x"}); err != nil {
		t.Fatal(err)
	}
	if off.hub.Archiving() || !f.hub.Archiving() {
		t.Fatal("Archiving does not follow HubConfig.Archive")
	}
	if first, _, err := off.hub.ArchiveEnds(off.ctx, addr("alice")); err != nil || first != nil {
		t.Fatalf("without archives: %+v %v", first, err)
	}
}
