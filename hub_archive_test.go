package crosstalk_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

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
// what was routed before a QueryArchive (which waits for the writer; the
// ends do not), and nothing for an account whose archive is untouched; a
// hub without archives reports none.
func TestArchiveEnds(t *testing.T) {
	f := newFixture(t, true, "alice", "bob", "carol")
	_, alice := f.online("alice/pc", 0)
	if first, last, ok, err := f.hub.ArchiveEnds(f.ctx, addr("alice")); err != nil || ok || first != (crosstalk.ArchiveRef{}) || last != (crosstalk.ArchiveRef{}) {
		t.Fatalf("empty archive: %v %v %v %v", first, last, ok, err)
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
	alicePage, err := f.hub.QueryArchive(f.ctx, addr("alice"), crosstalk.ArchiveQuery{Max: 10})
	if err != nil || len(alicePage.Messages) != 5 || alicePage.Messages[0].Message.ID != "m0" || alicePage.Messages[4].Message.ID != "m4" {
		t.Fatalf("alice's archive: %+v (%v)", alicePage.Messages, err)
	}
	first, last, ok, err := f.hub.ArchiveEnds(f.ctx, alice) // a full address reads the account's archive
	if err != nil || !ok || first.ID != alicePage.Messages[0].ID || last.ID != alicePage.Messages[4].ID || first.ID >= last.ID ||
		!first.Time.Equal(alicePage.Messages[0].Message.Time) || !last.Time.Equal(alicePage.Messages[4].Message.Time) {
		t.Fatalf("alice's ends: %+v %+v %v %v", first, last, ok, err)
	}
	if first, last, ok, err := f.hub.ArchiveEnds(f.ctx, addr("bob")); err != nil || !ok || first.ID != page.Messages[0].ID || last.ID != page.Messages[4].ID {
		t.Fatalf("bob's ends: %+v %+v %v", first, last, err)
	}
	if first, _, ok, err := f.hub.ArchiveEnds(f.ctx, addr("carol")); err != nil || ok {
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
	if first, _, ok, err := off.hub.ArchiveEnds(off.ctx, addr("alice")); err != nil || ok {
		t.Fatalf("without archives: %+v %v", first, err)
	}
}

// stalledArchiveStore holds every archive batch until release is closed.
type stalledArchiveStore struct {
	crosstalk.Store
	writing chan struct{} // receives once per batch that waits
	release chan struct{}
}

func (s *stalledArchiveStore) AppendArchiveBatch(ctx context.Context, entries []crosstalk.ArchiveEntry) error {
	s.writing <- struct{}{}
	<-s.release
	return s.Store.AppendArchiveBatch(ctx, entries)
}

// TestArchiveEndsDoesNotWait: with the archive writer stuck in a batch
// (a slow disk, a backlog under chat load), ArchiveEnds answers at once
// from what is written, without the queued message, while QueryArchive
// waits for the writer; once the batch is written both report it.
func TestArchiveEndsDoesNotWait(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	st := &stalledArchiveStore{Store: f.store, writing: make(chan struct{}, 16), release: make(chan struct{})}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}, Archive: true}, st, zerolog.Nop())
	t.Cleanup(func() { _ = hub.Close(f.ctx) })
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(st.release) }) }
	t.Cleanup(release) // before the hub's Close, which waits for the writer
	if err := hub.RouteMessage(f.ctx, &crosstalk.Message{ID: "queued", From: addr("alice/pc"), To: addr("bob"), Type: crosstalk.MessageChat, Body: "x"}); err != nil {
		t.Fatal(err)
	}
	<-st.writing // the writer holds the batch

	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, _, ok, err := hub.ArchiveEnds(ctx, addr("alice")); err != nil || ok {
		t.Fatalf("ends while the writer is stuck: ok %v, %v", ok, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("ArchiveEnds took %v behind the writer", d)
	}
	short, cancelShort := context.WithTimeout(f.ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := hub.QueryArchive(short, addr("alice"), crosstalk.ArchiveQuery{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("QueryArchive did not wait for the writer: %v", err)
	}

	release()
	page, err := hub.QueryArchive(ctx, addr("alice"), crosstalk.ArchiveQuery{})
	if err != nil || len(page.Messages) != 1 {
		t.Fatalf("after the write: %+v (%v)", page.Messages, err)
	}
	if first, last, ok, err := hub.ArchiveEnds(ctx, addr("alice")); err != nil || !ok || first.ID != page.Messages[0].ID || last.ID != first.ID {
		t.Fatalf("ends after the write: %+v %+v %v %v", first, last, ok, err)
	}
}

// TestDropArchivedOffline: only offline messages the archive holds are
// dropped (XEP-0386 Bind 2); one without a body, and one accepted before
// archiving started (it may predate the archive), stay queued in order;
// without archiving nothing is dropped.
func TestDropArchivedOffline(t *testing.T) {
	for _, archive := range []bool{true, false} {
		f := newFixture(t, archive, "alice", "bob")
		_, alice := f.online("alice/pc", 0)
		for _, m := range []*crosstalk.Message{
			{ID: "old", Body: "before the archive", Time: time.Now().Add(-time.Hour)},
			{ID: "archived", Body: "in the archive"},
			{ID: "state"},
		} {
			m.From, m.To, m.Type = alice, addr("bob"), crosstalk.MessageChat
			if err := f.hub.RouteMessage(f.ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		dropped, err := f.hub.DropArchivedOffline(f.ctx, addr("bob/x"))
		want, left := 0, []string{"old", "archived", "state"}
		if archive {
			want, left = 1, []string{"old", "state"}
		}
		if err != nil || dropped != want {
			t.Fatalf("archive %v: dropped %d, %v", archive, dropped, err)
		}
		msgs, err := f.store.ClaimOffline(f.ctx, addr("bob"), 0)
		if err != nil || len(msgs) != len(left) {
			t.Fatalf("archive %v: left %+v, %v", archive, msgs, err)
		}
		for i, m := range msgs {
			if m.Message.ID != left[i] {
				t.Fatalf("archive %v: left %d is %s, want %s", archive, i, m.Message.ID, left[i])
			}
		}
	}
}
