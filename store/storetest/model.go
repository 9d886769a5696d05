package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// model is a map-based reference for the parts of a store that change most.
type model struct {
	accounts map[crosstalk.Address]bool
	rosters  map[crosstalk.Address]map[crosstalk.Address]string // owner → contact → name
	blocks   map[crosstalk.Address]map[crosstalk.Address]bool
	offline  map[crosstalk.Address][]string // message ids in order
	regs     map[crosstalk.Address]map[string]time.Time
}

// testModel applies a random sequence of operations to the store and to the
// model and compares every result: a differential test of the store against
// the simplest thing that could be right.
func testModel(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	m := model{
		accounts: map[crosstalk.Address]bool{},
		rosters:  map[crosstalk.Address]map[crosstalk.Address]string{},
		blocks:   map[crosstalk.Address]map[crosstalk.Address]bool{},
		offline:  map[crosstalk.Address][]string{},
		regs:     map[crosstalk.Address]map[string]time.Time{},
	}
	owners := []crosstalk.Address{addr("u1@example.com"), addr("u2@example.com"), addr("u3@example.org")}
	contacts := []crosstalk.Address{addr("c1@example.com"), addr("c2@example.com"), addr("c3@example.net"),
		addr("example.net"), addr("c1@example.com/r")}
	pick := func(l []crosstalk.Address) crosstalk.Address { return l[rng.IntN(len(l))] }
	now := base
	msgN := 0
	lastVersion := map[crosstalk.Address]int64{}

	for step := range 600 {
		o := pick(owners)
		what := fmt.Sprintf("step %d", step)
		switch op := rng.IntN(12); op {
		case 0: // create account
			err := s.CreateAccount(ctx, crosstalk.Account{Address: o, Created: base})
			if m.accounts[o] {
				wantErr(t, what+" create existing", err, crosstalk.ErrAccountExists)
			} else {
				must(t, err)
				m.accounts[o] = true
			}
		case 1: // delete account, with everything it owns
			err := s.DeleteAccount(ctx, o)
			if !m.accounts[o] {
				wantErr(t, what+" delete missing", err, crosstalk.ErrNoSuchAccount)
				break
			}
			must(t, err)
			delete(m.accounts, o)
			delete(m.rosters, o)
			delete(m.blocks, o)
			delete(m.offline, o)
			delete(m.regs, o)
			delete(lastVersion, o)
		case 2, 3: // put roster item
			c := pick(contacts)
			name := fmt.Sprint("n", step)
			v, err := s.PutRosterItem(ctx, o, crosstalk.RosterItem{Contact: c, Name: name})
			must(t, err)
			if v <= lastVersion[o] {
				t.Fatalf("%s: version %d after %d", what, v, lastVersion[o])
			}
			lastVersion[o] = v
			if m.rosters[o] == nil {
				m.rosters[o] = map[crosstalk.Address]string{}
			}
			m.rosters[o][c] = name
		case 4: // delete roster item
			c := pick(contacts)
			v, err := s.DeleteRosterItem(ctx, o, c)
			if _, ok := m.rosters[o][c]; !ok {
				wantErr(t, what+" delete missing item", err, crosstalk.ErrNotFound)
				break
			}
			must(t, err)
			if v <= lastVersion[o] {
				t.Fatalf("%s: version %d after %d", what, v, lastVersion[o])
			}
			lastVersion[o] = v
			delete(m.rosters[o], c)
		case 5: // block
			c := pick(contacts)
			must(t, s.Block(ctx, o, c))
			if m.blocks[o] == nil {
				m.blocks[o] = map[crosstalk.Address]bool{}
			}
			m.blocks[o][c] = true
		case 6: // unblock one, or all
			if rng.IntN(4) == 0 {
				must(t, s.Unblock(ctx, o))
				delete(m.blocks, o)
			} else {
				c := pick(contacts)
				must(t, s.Unblock(ctx, o, c))
				delete(m.blocks[o], c)
			}
		case 7, 8: // push offline
			msgN++
			id := fmt.Sprint("m", msgN)
			must(t, s.PushOffline(ctx, o, crosstalk.Message{ID: id, Time: now}))
			m.offline[o] = append(m.offline[o], id)
		case 9: // claim offline
			limit := rng.IntN(4)
			got, err := s.ClaimOffline(ctx, o, limit)
			must(t, err)
			q := m.offline[o]
			n := len(q)
			if limit > 0 {
				n = min(n, limit)
			}
			var ids []string
			for _, om := range got {
				ids = append(ids, om.Message.ID)
			}
			equal(t, what+" claimed", ids, normStrings(q[:n:n]))
			m.offline[o] = q[n:]
		case 10: // put or delete a registration
			key := fmt.Sprint("sip:k", rng.IntN(3))
			if rng.IntN(3) == 0 {
				err := s.DeleteRegistration(ctx, o, key)
				if _, ok := m.regs[o][key]; !ok {
					wantErr(t, what+" delete missing binding", err, crosstalk.ErrNotFound)
				} else {
					must(t, err)
					delete(m.regs[o], key)
				}
				break
			}
			exp := now.Add(time.Duration(rng.IntN(5)-1) * time.Minute)
			must(t, s.PutRegistration(ctx, crosstalk.Registration{AOR: o, Contact: key, Q: 500, Expires: exp}))
			if m.regs[o] == nil {
				m.regs[o] = map[string]time.Time{}
			}
			m.regs[o][key] = exp
		case 11: // time passes; expired bindings are swept
			now = now.Add(time.Minute)
			n, err := s.DeleteExpiredRegistrations(ctx, now)
			must(t, err)
			want := 0
			for _, rs := range m.regs {
				for k, exp := range rs {
					if !us(exp).After(us(now)) {
						delete(rs, k)
						want++
					}
				}
			}
			if n != want {
				t.Fatalf("%s: swept %d bindings, want %d", what, n, want)
			}
		}
		m.compare(t, s, what, o, contacts, now)
	}
}

// compare checks everything the store says about owner against the model.
func (m *model) compare(t *testing.T, s crosstalk.Store, what string, o crosstalk.Address, contacts []crosstalk.Address, now time.Time) {
	t.Helper()
	ctx := t.Context()
	_, err := s.GetAccount(ctx, o)
	if m.accounts[o] != (err == nil) || (err != nil && !errors.Is(err, crosstalk.ErrNoSuchAccount)) {
		t.Fatalf("%s: account %v: %v, model says %v", what, o, err, m.accounts[o])
	}
	r, err := s.GetRoster(ctx, o)
	must(t, err)
	var got, want []string
	for _, it := range r.Items {
		got = append(got, it.Contact.String()+"="+it.Name)
	}
	var cs []crosstalk.Address
	for c := range m.rosters[o] {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b crosstalk.Address) int { return strings.Compare(a.String(), b.String()) })
	for _, c := range cs {
		want = append(want, c.String()+"="+m.rosters[o][c])
	}
	equal(t, what+" roster", normStrings(got), normStrings(want))

	bl, err := s.Blocklist(ctx, o)
	must(t, err)
	got, want = nil, nil
	for _, a := range bl {
		got = append(got, a.String())
	}
	for a := range m.blocks[o] {
		want = append(want, a.String())
	}
	slices.Sort(want)
	equal(t, what+" blocklist", normStrings(got), normStrings(want))
	for _, c := range contacts {
		b, err := s.IsBlocked(ctx, o, c)
		must(t, err)
		wantB := m.blocks[o][c] || m.blocks[o][c.Bare()]
		if d, err := crosstalk.NewAddress("", c.Domain(), ""); err == nil && m.blocks[o][d] {
			wantB = true
		}
		if b != wantB {
			t.Fatalf("%s: IsBlocked(%v, %v) = %v, model says %v", what, o, c, b, wantB)
		}
	}

	n, err := s.CountOffline(ctx, o)
	must(t, err)
	if n != len(m.offline[o]) {
		t.Fatalf("%s: %d offline, model says %d", what, n, len(m.offline[o]))
	}

	regs, err := s.ListRegistrations(ctx, o, now)
	must(t, err)
	got, want = nil, nil
	for _, r := range regs {
		got = append(got, r.Key())
	}
	for k, exp := range m.regs[o] {
		if us(exp).After(us(now)) {
			want = append(want, k)
		}
	}
	slices.Sort(want)
	equal(t, what+" registrations", normStrings(got), normStrings(want))
}
