package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

func normItem(it crosstalk.RosterItem) crosstalk.RosterItem {
	it.Groups = normStrings(it.Groups)
	return it
}

func testRoster(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, other := addr("alice@example.com"), addr("dave@example.com")
	bob, carol := addr("bob@example.com"), addr("carol@example.org")

	r, err := s.GetRoster(ctx, alice)
	must(t, err)
	if r.Version != 0 || len(r.Items) != 0 {
		t.Fatalf("never-changed roster: %+v, want version 0 and no items", r)
	}
	_, err = s.GetRosterItem(ctx, alice, bob)
	wantErr(t, "get missing item", err, crosstalk.ErrNotFound)
	_, err = s.DeleteRosterItem(ctx, alice, bob)
	wantErr(t, "delete missing item", err, crosstalk.ErrNotFound)
	r, err = s.GetRoster(ctx, alice)
	must(t, err)
	if r.Version != 0 {
		t.Fatalf("a failed delete changed the version to %d", r.Version)
	}

	// Groups keep their order, whatever it is.
	itCarol := crosstalk.RosterItem{
		Contact: carol, Name: "Carol 'C' ✓", Groups: []string{"Work", "Friends", "A group, with comma", "Ünï"},
		SubscriptionState: crosstalk.SubscriptionState{Subscription: crosstalk.SubscriptionBoth, PendingIn: true},
	}
	v1, err := s.PutRosterItem(ctx, alice, itCarol)
	must(t, err)
	if v1 <= 0 {
		t.Fatalf("first version %d, want > 0", v1)
	}
	itCarol.Version = v1
	got, err := s.GetRosterItem(ctx, alice, carol)
	must(t, err)
	equal(t, "carol", normItem(got), normItem(itCarol))

	itBob := crosstalk.RosterItem{Contact: bob, SubscriptionState: crosstalk.SubscriptionState{
		Subscription: crosstalk.SubscriptionTo, PendingOut: true, PreApproved: true}}
	v2, err := s.PutRosterItem(ctx, alice, itBob)
	must(t, err)
	if v2 <= v1 {
		t.Fatalf("version %d after %d, want it to grow", v2, v1)
	}
	itBob.Version = v2

	r, err = s.GetRoster(ctx, alice)
	must(t, err)
	if r.Version != v2 {
		t.Fatalf("roster version %d, want %d", r.Version, v2)
	}
	if len(r.Items) != 2 {
		t.Fatalf("roster items %+v, want bob and carol", r.Items)
	}
	equal(t, "roster[0]", normItem(r.Items[0]), normItem(itBob)) // sorted by contact
	equal(t, "roster[1]", normItem(r.Items[1]), normItem(itCarol))

	// Another owner's roster is separate.
	vo, err := s.PutRosterItem(ctx, other, crosstalk.RosterItem{Contact: carol})
	must(t, err)
	if vo <= 0 {
		t.Fatalf("other owner's first version %d", vo)
	}
	r, err = s.GetRoster(ctx, alice)
	must(t, err)
	if len(r.Items) != 2 {
		t.Fatalf("alice's roster grew with dave's item: %+v", r.Items)
	}

	// Replace: the item takes the new version; the other keeps its own.
	itCarol.Groups = []string{"Friends"}
	itCarol.Name = ""
	itCarol.SubscriptionState = crosstalk.SubscriptionState{Subscription: crosstalk.SubscriptionFrom}
	v3, err := s.PutRosterItem(ctx, alice, itCarol)
	must(t, err)
	if v3 <= v2 {
		t.Fatalf("version %d after %d", v3, v2)
	}
	itCarol.Version = v3
	got, err = s.GetRosterItem(ctx, alice, carol)
	must(t, err)
	equal(t, "replaced carol", normItem(got), normItem(itCarol))
	got, err = s.GetRosterItem(ctx, alice, bob)
	must(t, err)
	equal(t, "bob after carol's change", normItem(got), normItem(itBob))

	// Removing groups.
	itCarol.Groups = nil
	v4, err := s.PutRosterItem(ctx, alice, itCarol)
	must(t, err)
	itCarol.Version = v4
	got, err = s.GetRosterItem(ctx, alice, carol)
	must(t, err)
	equal(t, "carol without groups", normItem(got), normItem(itCarol))

	// Delete raises the version too.
	v5, err := s.DeleteRosterItem(ctx, alice, bob)
	must(t, err)
	if v5 <= v4 {
		t.Fatalf("version %d after delete, was %d", v5, v4)
	}
	_, err = s.GetRosterItem(ctx, alice, bob)
	wantErr(t, "get deleted item", err, crosstalk.ErrNotFound)
	_, err = s.DeleteRosterItem(ctx, alice, bob)
	wantErr(t, "delete twice", err, crosstalk.ErrNotFound)
	r, err = s.GetRoster(ctx, alice)
	must(t, err)
	if r.Version != v5 || len(r.Items) != 1 {
		t.Fatalf("after delete: %+v, want version %d and carol only", r, v5)
	}
	equal(t, "carol after bob's deletion", normItem(r.Items[0]), normItem(itCarol))
}

func testRosterConcurrent(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	owner := addr("alice@example.com")
	const writers, each = 8, 15
	versions := make([][]int64, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Half the writers share contacts, half have their own.
				contact := addr(fmt.Sprintf("c%d@example.org", (w%2)*w*100+i%5))
				var v int64
				var err error
				if i%4 == 3 {
					v, err = s.DeleteRosterItem(ctx, owner, contact)
					if err != nil {
						// Someone else removed it first: put it back.
						v, err = s.PutRosterItem(ctx, owner, crosstalk.RosterItem{Contact: contact, Name: "again"})
					}
				} else {
					v, err = s.PutRosterItem(ctx, owner, crosstalk.RosterItem{Contact: contact, Name: fmt.Sprint(w, i)})
				}
				if err != nil {
					t.Errorf("writer %d op %d: %v", w, i, err)
					return
				}
				versions[w] = append(versions[w], v)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := map[int64]int{}
	var maxV int64
	for w, vs := range versions {
		for i, v := range vs {
			if i > 0 && v <= vs[i-1] {
				t.Errorf("writer %d saw version %d after %d", w, v, vs[i-1])
			}
			if prev, dup := seen[v]; dup {
				t.Errorf("version %d given to writers %d and %d", v, prev, w)
			}
			seen[v] = w
			maxV = max(maxV, v)
		}
	}
	r, err := s.GetRoster(ctx, owner)
	must(t, err)
	if r.Version != maxV {
		t.Errorf("roster version %d, want the last one given, %d", r.Version, maxV)
	}
	for _, it := range r.Items {
		if _, ok := seen[it.Version]; !ok || it.Version > r.Version {
			t.Errorf("item %v has version %d, which no change returned", it.Contact, it.Version)
		}
	}
}
