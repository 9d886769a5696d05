package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// archived is one appended message with the id the store gave it.
type archived struct {
	id string
	m  crosstalk.ArchivedMessage
}

// normArchived is what QueryArchive should return for a.
func normArchived(a archived) crosstalk.ArchivedMessage {
	m := a.m
	m.ID = a.id
	m.Message = normMessage(m.Message)
	return m
}

// sortArchive orders appended messages as QueryArchive must: time, then id.
func sortArchive(l []archived) {
	slices.SortStableFunc(l, func(a, b archived) int {
		if c := us(a.m.Message.Time).Compare(us(b.m.Message.Time)); c != 0 {
			return c
		}
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
}

func checkPage(t *testing.T, what string, got crosstalk.ArchivePage, want []archived, complete bool) {
	t.Helper()
	if len(got.Messages) != len(want) {
		ids := make([]string, len(got.Messages))
		for i, m := range got.Messages {
			ids[i] = m.ID + " " + m.Message.ID
		}
		t.Fatalf("%s: %d messages %v, want %d", what, len(got.Messages), ids, len(want))
	}
	for i := range want {
		equal(t, fmt.Sprintf("%s: message %d", what, i), got.Messages[i], normArchived(want[i]))
	}
	if got.Complete != complete {
		t.Fatalf("%s: complete = %v, want %v", what, got.Complete, complete)
	}
}

// appendAll appends the messages in order, checks that ids grow, and returns
// them with their ids.
func appendAll(t *testing.T, s crosstalk.Store, owner crosstalk.Address, ms []crosstalk.ArchivedMessage) []archived {
	t.Helper()
	var out []archived
	for _, m := range ms {
		id, err := s.AppendArchive(t.Context(), owner, m)
		must(t, err)
		if id == "" {
			t.Fatal("empty archive id")
		}
		if len(out) > 0 && id <= out[len(out)-1].id {
			t.Fatalf("archive id %q after %q: ids must sort in archive order", id, out[len(out)-1].id)
		}
		out = append(out, archived{id: id, m: m})
	}
	return out
}

func testArchive(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice := addr("alice@example.com")
	bob, carol := addr("bob@example.com"), addr("carol@example.org")

	p, err := s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{})
	must(t, err)
	checkPage(t, "empty archive", p, nil, true)

	var ms []crosstalk.ArchivedMessage
	for i := range 10 {
		with := bob
		if i%3 == 0 {
			with = carol
		}
		at := base.Add(time.Duration(i) * time.Minute)
		m := fullMessage(i, with.String()+"/res", "alice@example.com/home", at)
		if i%2 == 1 { // outgoing
			m.From, m.To = addr("alice@example.com/home"), with
		}
		ms = append(ms, crosstalk.ArchivedMessage{With: with, Message: m})
	}
	// Appended last but older than all: it comes first by time.
	late := fullMessage(10, "bob@example.com", "alice@example.com", base.Add(-time.Hour))
	late.Native = crosstalk.Native{}
	ms = append(ms, crosstalk.ArchivedMessage{With: bob, Message: late})
	all := appendAll(t, s, alice, ms)
	// Another owner's archive stays apart.
	appendAll(t, s, bob, []crosstalk.ArchivedMessage{{With: alice, Message: fullMessage(50, "alice@example.com", "bob@example.com", base)}})

	sorted := slices.Clone(all)
	sortArchive(sorted)
	if sorted[0].id != all[len(all)-1].id {
		t.Fatal("test data: the late message should sort first")
	}
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{Max: 100})
	must(t, err)
	checkPage(t, "whole archive", p, sorted, true)
	// Every field comes back, with the time at microsecond precision in UTC.
	if got := p.Messages[1].Message.Time; got.Nanosecond()%1000 != 0 || got.Location() != time.UTC {
		t.Fatalf("time %v is not µs in UTC", got)
	}

	// With.
	var withBob []archived
	for _, a := range sorted {
		if a.m.With == bob {
			withBob = append(withBob, a)
		}
	}
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{With: bob})
	must(t, err)
	checkPage(t, "with bob", p, withBob, true)
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{With: addr("nobody@example.com")})
	must(t, err)
	checkPage(t, "with nobody", p, nil, true)

	// Start and End are inclusive, at microsecond precision.
	start, end := base.Add(3*time.Minute), base.Add(6*time.Minute)
	var inRange []archived
	for _, a := range sorted {
		if at := us(a.m.Message.Time); !at.Before(us(start)) && !at.After(us(end)) {
			inRange = append(inRange, a)
		}
	}
	if len(inRange) != 4 {
		t.Fatalf("test data: %d in range", len(inRange))
	}
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{Start: us(start), End: us(end)})
	must(t, err)
	checkPage(t, "start..end", p, inRange, true)
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{Start: us(start).Add(time.Microsecond), End: us(end).Add(-time.Microsecond)})
	must(t, err)
	checkPage(t, "start+1µs..end-1µs", p, inRange[1:3], true)
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{Start: start.In(time.FixedZone("X", 5*3600)), With: carol})
	must(t, err)
	var carolFrom3 []archived
	for _, a := range inRange {
		if a.m.With == carol {
			carolFrom3 = append(carolFrom3, a)
		}
	}
	carolFrom3 = append(carolFrom3, sorted[len(sorted)-1]) // minute 9 is carol's
	checkPage(t, "carol from minute 3, start in another zone", p, carolFrom3, true)

	// Unknown RSM ids are not found (XEP-0313 item-not-found).
	for _, q := range []crosstalk.ArchiveQuery{{After: "nonsense"}, {Before: "nonsense"}} {
		_, err = s.QueryArchive(ctx, alice, q)
		wantErr(t, fmt.Sprintf("query %+v", q), err, crosstalk.ErrNotFound)
	}
	// Nor is another owner's id.
	bobsIDs, err := s.QueryArchive(ctx, bob, crosstalk.ArchiveQuery{})
	must(t, err)
	_, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{After: bobsIDs.Messages[0].ID})
	wantErr(t, "after another owner's id", err, crosstalk.ErrNotFound)

	// Max ≤ 0 means 50.
	var more []crosstalk.ArchivedMessage
	for i := range 45 {
		more = append(more, crosstalk.ArchivedMessage{With: bob, Message: fullMessage(100+i, "bob@example.com", "alice@example.com", base.Add(time.Hour))})
	}
	appendAll(t, s, alice, more)
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{})
	must(t, err)
	if len(p.Messages) != 50 || p.Complete {
		t.Fatalf("default page: %d messages, complete %v; want 50, false", len(p.Messages), p.Complete)
	}
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{After: p.Messages[49].ID})
	must(t, err)
	if len(p.Messages) != len(all)+45-50 || !p.Complete {
		t.Fatalf("second default page: %d messages, complete %v", len(p.Messages), p.Complete)
	}
}

func testArchivePaging(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice := addr("alice@example.com")
	var ms []crosstalk.ArchivedMessage
	for i := range 17 {
		// Runs of equal timestamps, one sub-microsecond apart in the input.
		at := base.Add(time.Duration(i/4) * time.Second).Add(time.Duration(i%4) * time.Nanosecond)
		ms = append(ms, crosstalk.ArchivedMessage{With: addr("bob@example.com"),
			Message: fullMessage(i, "bob@example.com", "alice@example.com", at)})
	}
	// Append in a shuffled time order.
	slices.Reverse(ms[4:12])
	all := appendAll(t, s, alice, ms)
	sortArchive(all)

	for _, max := range []int{1, 2, 3, 4, 5, 16, 17, 18} {
		// Forward with After.
		var got []archived
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(all)+1 {
				t.Fatalf("max %d: paging forward does not end", max)
			}
			p, err := s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{After: after, Max: max})
			must(t, err)
			end := min(len(got)+max, len(all))
			checkPage(t, fmt.Sprintf("max %d forward page %d", max, pages), p, all[len(got):end], end == len(all))
			for _, m := range p.Messages {
				got = append(got, archived{id: m.ID})
			}
			if p.Complete {
				break
			}
			after = p.Messages[len(p.Messages)-1].ID
		}
		// Backward with Before, starting before the last message.
		before := all[len(all)-1].id
		remaining := len(all) - 1
		for pages := 0; ; pages++ {
			if pages > len(all)+1 {
				t.Fatalf("max %d: paging backward does not end", max)
			}
			p, err := s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{Before: before, Max: max})
			must(t, err)
			start := max0(remaining - max)
			checkPage(t, fmt.Sprintf("max %d backward page %d", max, pages), p, all[start:remaining], start == 0)
			remaining = start
			if p.Complete {
				break
			}
			before = p.Messages[0].ID
		}
		if remaining != 0 {
			t.Fatalf("max %d: backward paging stopped with %d left", max, remaining)
		}
		// Last: the last page (RSM's empty <before/>), oldest first.
		p, err := s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{Last: true, Max: max})
		must(t, err)
		start := max0(len(all) - max)
		checkPage(t, fmt.Sprintf("max %d last page", max), p, all[start:], start == 0)
	}
	// Last with a filter and a time window: the last page of what matches.
	p, err := s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{Last: true, End: us(all[11].m.Message.Time), With: addr("bob@example.com"), Max: 3})
	must(t, err)
	checkPage(t, "last page before end", p, all[9:12], false)

	// After and Before together: the items strictly between.
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{After: all[2].id, Before: all[9].id, Max: 100})
	must(t, err)
	checkPage(t, "between", p, all[3:9], true)
	// After with a time window.
	p, err = s.QueryArchive(ctx, alice, crosstalk.ArchiveQuery{After: all[5].id, End: us(all[11].m.Message.Time), Max: 3})
	must(t, err)
	checkPage(t, "after with end", p, all[6:9], false)
}

func max0(n int) int { return max(n, 0) }

// testArchiveBatch appends a batch for two owners mixed and checks that each
// owner's archive holds its entries, whole, in the order given, after what
// was appended before; an empty batch changes nothing; a batch inside a
// transaction that rolls back leaves nothing.
func testArchiveBatch(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")
	before := appendAll(t, s, alice, []crosstalk.ArchivedMessage{{With: bob, Message: fullMessage(0, "alice@example.com", "bob@example.com", base)}})
	var batch []crosstalk.ArchiveEntry
	for i := 1; i <= 40; i++ {
		m := fullMessage(i, "alice@example.com", "bob@example.com", base) // equal times: order by id
		batch = append(batch, crosstalk.ArchiveEntry{Owner: alice, ArchivedMessage: crosstalk.ArchivedMessage{With: bob, Message: m}},
			crosstalk.ArchiveEntry{Owner: bob, ArchivedMessage: crosstalk.ArchivedMessage{With: alice, Message: m}})
	}
	must(t, s.AppendArchiveBatch(ctx, batch))
	must(t, s.AppendArchiveBatch(ctx, nil))
	for _, owner := range []crosstalk.Address{alice, bob} {
		page, err := s.QueryArchive(ctx, owner, crosstalk.ArchiveQuery{Max: 100})
		must(t, err)
		var want []crosstalk.ArchivedMessage
		if owner == alice {
			want = append(want, normArchived(before[0]))
		}
		for _, e := range batch {
			if e.Owner == owner {
				want = append(want, e.ArchivedMessage)
			}
		}
		if len(page.Messages) != len(want) || !page.Complete {
			t.Fatalf("%s: %d messages (complete %v), want %d", owner, len(page.Messages), page.Complete, len(want))
		}
		for i, got := range page.Messages {
			if i > 0 && got.ID <= page.Messages[i-1].ID {
				t.Fatalf("%s: id %q after %q", owner, got.ID, page.Messages[i-1].ID)
			}
			w := want[i]
			w.ID = got.ID
			w.Message = normMessage(w.Message)
			equal(t, fmt.Sprintf("%s: message %d", owner, i), got, w)
		}
	}
	errRollback := fmt.Errorf("roll back")
	err := s.InTransaction(ctx, func(tx crosstalk.Store) error {
		must(t, tx.AppendArchiveBatch(ctx, batch[:4]))
		return errRollback
	})
	if err != errRollback {
		t.Fatalf("transaction: %v", err)
	}
	page, err := s.QueryArchive(ctx, bob, crosstalk.ArchiveQuery{Max: 100})
	must(t, err)
	if len(page.Messages) != 40 {
		t.Fatalf("a rolled-back batch left %d entries", len(page.Messages)-40)
	}
}

// testArchiveGivenIDs appends entries with ids given by the caller (the
// hub's, crosstalk.ArchiveIDs) alone and in a batch, and between them one
// without: each keeps its id, the store's own id differs from the given
// ones, paging after a given id works, and an id that is not an archive id
// is refused. (A store may assign the id after the largest it holds, so
// the given ids after it come from a later time, as the hub's do: the hub
// gives every entry its id.)
func testArchiveGivenIDs(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	room, nick := addr("given@conference.example.com"), addr("given@conference.example.com/nick")
	var gen crosstalk.ArchiveIDs
	first := gen.Next(base)
	id, err := s.AppendArchive(ctx, room, crosstalk.ArchivedMessage{ID: first, With: nick, Message: fullMessage(1, "given@conference.example.com/nick", "given@conference.example.com", base)})
	must(t, err)
	if id != first {
		t.Fatalf("given id %q came back as %q", first, id)
	}
	auto, err := s.AppendArchive(ctx, room, crosstalk.ArchivedMessage{With: nick, Message: fullMessage(2, "given@conference.example.com/nick", "given@conference.example.com", base.Add(time.Second))})
	must(t, err)
	var batch []crosstalk.ArchiveEntry
	want := []string{first, auto}
	for i := 3; i <= 6; i++ {
		e := crosstalk.ArchiveEntry{Owner: room, ArchivedMessage: crosstalk.ArchivedMessage{ID: gen.Next(base.Add(time.Hour)), With: nick,
			Message: fullMessage(i, "given@conference.example.com/nick", "given@conference.example.com", base.Add(time.Duration(i)*time.Second))}}
		batch = append(batch, e)
		want = append(want, e.ID)
	}
	must(t, s.AppendArchiveBatch(ctx, batch))
	page, err := s.QueryArchive(ctx, room, crosstalk.ArchiveQuery{Max: 10})
	must(t, err)
	var got []string
	for _, m := range page.Messages {
		got = append(got, m.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ids %v, want %v", got, want)
	}
	page, err = s.QueryArchive(ctx, room, crosstalk.ArchiveQuery{After: batch[1].ID, Max: 10})
	must(t, err)
	if len(page.Messages) != 2 || page.Messages[0].ID != batch[2].ID || page.Messages[0].Message.Body != batch[2].Message.Body {
		t.Fatalf("after a given id: %+v", page.Messages)
	}
	if _, err := s.AppendArchive(ctx, room, crosstalk.ArchivedMessage{ID: "not-an-id", Message: fullMessage(9, "given@conference.example.com/nick", "given@conference.example.com", base)}); err == nil {
		t.Fatal("an id that is not an archive id was taken")
	}
}
