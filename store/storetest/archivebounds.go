package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// checkBounds fails the test unless ArchiveBounds of owner reports the
// first and the last message of QueryArchive's oldest and newest one-message
// pages (ids and times), and, when want is given, those two ids.
func checkBounds(t *testing.T, s crosstalk.Store, what string, owner crosstalk.Address, want ...string) {
	t.Helper()
	ctx := t.Context()
	first, last, ok, err := s.ArchiveBounds(ctx, owner)
	must(t, err)
	head, err := s.QueryArchive(ctx, owner, crosstalk.ArchiveQuery{Max: 1})
	must(t, err)
	tail, err := s.QueryArchive(ctx, owner, crosstalk.ArchiveQuery{Max: 1, Last: true})
	must(t, err)
	if len(head.Messages) == 0 {
		if ok || first != (crosstalk.ArchiveRef{}) || last != (crosstalk.ArchiveRef{}) {
			t.Fatalf("%s: bounds of an empty archive: %+v %+v %v", what, first, last, ok)
		}
		if len(want) != 0 {
			t.Fatalf("%s: the archive is empty, want %v", what, want)
		}
		return
	}
	if !ok {
		t.Fatalf("%s: no bounds for an archive starting with %s", what, head.Messages[0].ID)
	}
	for _, end := range []struct {
		name string
		got  crosstalk.ArchiveRef
		page crosstalk.ArchivePage
	}{{"first", first, head}, {"last", last, tail}} {
		m := end.page.Messages[0]
		wantRef := crosstalk.ArchiveRef{ID: m.ID, Time: m.Message.Time}
		if end.got.ID != wantRef.ID || !end.got.Time.Equal(wantRef.Time) || end.got.Time.Location() != time.UTC {
			t.Fatalf("%s: %s %+v, QueryArchive has %+v", what, end.name, end.got, wantRef)
		}
	}
	if len(want) == 2 && (first.ID != want[0] || last.ID != want[1]) {
		t.Fatalf("%s: bounds %s..%s, want %s..%s", what, first.ID, last.ID, want[0], want[1])
	}
}

// testArchiveBounds: ArchiveBounds reports an archive's ends in
// QueryArchive's order (time, then id: a message appended late with an
// older time comes first; equal times go by id), only the owner's own
// entries, what the enclosing transaction wrote, and a cancelled context
// as such.
func testArchiveBounds(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")

	checkBounds(t, s, "empty archive", alice)

	one := appendAll(t, s, alice, []crosstalk.ArchivedMessage{{With: bob, Message: fullMessage(0, "bob@example.com", "alice@example.com", base)}})
	checkBounds(t, s, "one message", alice, one[0].id, one[0].id)
	if first, _, _, _ := s.ArchiveBounds(ctx, alice); !first.Time.Equal(us(base)) {
		t.Fatalf("one message: time %v, want %v", first.Time, us(base))
	}

	// Another owner's entries, older and newer than all of alice's, and on
	// either side of her ids, are not hers.
	bobs := appendAll(t, s, bob, []crosstalk.ArchivedMessage{
		{With: alice, Message: fullMessage(1, "alice@example.com", "bob@example.com", base.Add(-24*time.Hour))},
		{With: alice, Message: fullMessage(2, "alice@example.com", "bob@example.com", base.Add(24*time.Hour))},
	})
	checkBounds(t, s, "another owner's messages", alice, one[0].id, one[0].id)
	checkBounds(t, s, "bob's archive", bob, bobs[0].id, bobs[1].id)

	var ms []crosstalk.ArchivedMessage
	for i := range 20 {
		ms = append(ms, crosstalk.ArchivedMessage{With: bob, Message: fullMessage(10+i, "bob@example.com", "alice@example.com", base.Add(time.Duration(i)*time.Second))})
	}
	// Appended last: one older than all, one at the newest time (after
	// the other by id).
	ms = append(ms,
		crosstalk.ArchivedMessage{With: bob, Message: fullMessage(40, "bob@example.com", "alice@example.com", base.Add(-time.Hour))},
		crosstalk.ArchivedMessage{With: bob, Message: fullMessage(41, "bob@example.com", "alice@example.com", base.Add(19*time.Second))})
	many := appendAll(t, s, alice, ms)
	checkBounds(t, s, "many messages", alice, many[20].id, many[21].id)

	// A batch with ids given by the hub counts the same way.
	var gen crosstalk.ArchiveIDs
	batch := []crosstalk.ArchiveEntry{
		{Owner: alice, ArchivedMessage: crosstalk.ArchivedMessage{ID: gen.Next(base.Add(time.Hour)), With: bob, Message: fullMessage(50, "bob@example.com", "alice@example.com", base.Add(time.Hour))}},
		{Owner: bob, ArchivedMessage: crosstalk.ArchivedMessage{ID: gen.Next(base.Add(time.Hour)), With: alice, Message: fullMessage(51, "alice@example.com", "bob@example.com", base.Add(48*time.Hour))}},
	}
	must(t, s.AppendArchiveBatch(ctx, batch))
	checkBounds(t, s, "after a batch", alice, many[20].id, batch[0].ID)
	checkBounds(t, s, "bob after a batch", bob, bobs[0].id, batch[1].ID)

	// A transaction sees what it wrote; a rolled back one leaves nothing.
	errRollback := errors.New("roll back")
	err := s.InTransaction(ctx, func(tx crosstalk.Store) error {
		id, err := tx.AppendArchive(ctx, alice, crosstalk.ArchivedMessage{With: bob, Message: fullMessage(60, "bob@example.com", "alice@example.com", base.Add(-48*time.Hour))})
		if err != nil {
			return err
		}
		checkBounds(t, tx, "inside a transaction", alice, id, batch[0].ID)
		return errRollback
	})
	wantErr(t, "rolled back transaction", err, errRollback)
	checkBounds(t, s, "after a rollback", alice, many[20].id, batch[0].ID)

	if _, _, _, err := s.ArchiveBounds(cancelled(t), alice); !errors.Is(err, context.Canceled) {
		t.Fatalf("ArchiveBounds with a cancelled context: %v, want context.Canceled", err)
	}

	// The account's deletion takes its archive, bounds included.
	must(t, s.CreateAccount(ctx, crosstalk.Account{Address: alice, Credentials: credentials(3), Created: base}))
	must(t, s.DeleteAccount(ctx, alice))
	checkBounds(t, s, "deleted account", alice)
	checkBounds(t, s, "bob after alice's deletion", bob, bobs[0].id, batch[1].ID)
}
