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
