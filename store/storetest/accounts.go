package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// credentials returns credentials whose byte fields hold every byte value.
func credentials(seed byte) crosstalk.Credentials {
	b := func(n int, off byte) []byte {
		out := make([]byte, n)
		for i := range out {
			out[i] = byte(i) + off + seed
		}
		return out
	}
	return crosstalk.Credentials{
		SCRAMSHA1:   crosstalk.SCRAMKeys{Salt: b(16, 0), Iterations: 4096, StoredKey: b(20, 1), ServerKey: b(20, 2)},
		SCRAMSHA256: crosstalk.SCRAMKeys{Salt: b(256, 3), Iterations: 600000 + int(seed), StoredKey: b(32, 4), ServerKey: b(32, 5)},
		Realm:       "example.com",
		HA1MD5:      "8d2bbf1ec3ff0b5e6a0a3ad9c1b7a4f" + string('0'+seed%10),
		HA1SHA256:   "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d" + string('0'+seed%10),
	}
}

func credsEqual(a, b crosstalk.Credentials) bool {
	k := func(x, y crosstalk.SCRAMKeys) bool {
		return bytesEqual(x.Salt, y.Salt) && x.Iterations == y.Iterations &&
			bytesEqual(x.StoredKey, y.StoredKey) && bytesEqual(x.ServerKey, y.ServerKey)
	}
	return k(a.SCRAMSHA1, b.SCRAMSHA1) && k(a.SCRAMSHA256, b.SCRAMSHA256) &&
		a.Realm == b.Realm && a.HA1MD5 == b.HA1MD5 && a.HA1SHA256 == b.HA1SHA256
}

func testAccounts(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice := addr("alice@example.com")

	_, err := s.GetAccount(ctx, alice)
	wantErr(t, "get missing account", err, crosstalk.ErrNoSuchAccount)

	want := crosstalk.Account{Address: alice, Credentials: credentials(1), Created: base}
	must(t, s.CreateAccount(ctx, want))
	wantErr(t, "create twice", s.CreateAccount(ctx, want), crosstalk.ErrAccountExists)
	dup := want
	dup.Credentials = credentials(9)
	wantErr(t, "create twice with other credentials", s.CreateAccount(ctx, dup), crosstalk.ErrAccountExists)

	got, err := s.GetAccount(ctx, alice)
	must(t, err)
	if got.Address != alice {
		t.Fatalf("address %v, want %v", got.Address, alice)
	}
	if !got.Created.Equal(us(base)) || got.Created.Location() != time.UTC {
		t.Fatalf("created %v, want %v in UTC", got.Created, us(base))
	}
	if !credsEqual(got.Credentials, want.Credentials) {
		t.Fatalf("credentials did not round-trip:\n got  %+v\n want %+v", got.Credentials, want.Credentials)
	}

	// SetCredentials replaces all of them; nothing else changes.
	c2 := credentials(2)
	c2.HA1SHA256 = ""
	c2.SCRAMSHA1 = crosstalk.SCRAMKeys{}
	must(t, s.SetCredentials(ctx, alice, c2))
	got, err = s.GetAccount(ctx, alice)
	must(t, err)
	if !credsEqual(got.Credentials, c2) {
		t.Fatalf("credentials after SetCredentials:\n got  %+v\n want %+v", got.Credentials, c2)
	}
	if !got.Created.Equal(us(base)) {
		t.Fatalf("SetCredentials changed created: %v", got.Created)
	}
	wantErr(t, "set credentials of missing account",
		s.SetCredentials(ctx, addr("nobody@example.com"), c2), crosstalk.ErrNoSuchAccount)

	// A zero Created is filled in by the store.
	before := time.Now().Add(-time.Second)
	must(t, s.CreateAccount(ctx, crosstalk.Account{Address: addr("zed@example.com")}))
	got, err = s.GetAccount(ctx, addr("zed@example.com"))
	must(t, err)
	if got.Created.Before(before) || got.Created.After(time.Now().Add(time.Second)) {
		t.Fatalf("zero Created became %v, want about now", got.Created)
	}

	// Listing: per domain and all, sorted byte for byte.
	for _, a := range []string{"bob@example.com", "aaron@example.org", "carol@example.org", "Bob@example.net", "example.com"} {
		a := addr(a)
		must(t, s.CreateAccount(ctx, crosstalk.Account{Address: a, Created: base}))
	}
	all := []crosstalk.Address{alice, addr("zed@example.com"), addr("bob@example.com"), addr("aaron@example.org"),
		addr("carol@example.org"), addr("Bob@example.net"), addr("example.com")}
	slices.SortFunc(all, func(a, b crosstalk.Address) int { return strings.Compare(a.String(), b.String()) })
	list, err := s.ListAccounts(ctx, "")
	must(t, err)
	equal(t, "all accounts", list, all)
	var com []crosstalk.Address
	for _, a := range all {
		if a.Domain() == "example.com" {
			com = append(com, a)
		}
	}
	list, err = s.ListAccounts(ctx, "example.com")
	must(t, err)
	equal(t, "accounts of example.com", list, com)
	list, err = s.ListAccounts(ctx, "nowhere.example")
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("accounts of an unknown domain: %v", list)
	}

	wantErr(t, "delete missing account", s.DeleteAccount(ctx, addr("nobody@example.com")), crosstalk.ErrNoSuchAccount)
	must(t, s.DeleteAccount(ctx, alice))
	_, err = s.GetAccount(ctx, alice)
	wantErr(t, "get deleted account", err, crosstalk.ErrNoSuchAccount)
	wantErr(t, "delete twice", s.DeleteAccount(ctx, alice), crosstalk.ErrNoSuchAccount)
	// The address is free again.
	must(t, s.CreateAccount(ctx, crosstalk.Account{Address: alice, Credentials: c2, Created: base}))
}

func testAccountDeleteCascades(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")
	fill := func(owner crosstalk.Address) {
		must(t, s.CreateAccount(ctx, crosstalk.Account{Address: owner, Credentials: credentials(3), Created: base}))
		_, err := s.PutRosterItem(ctx, owner, crosstalk.RosterItem{Contact: addr("carol@example.org"), Groups: []string{"g"}})
		must(t, err)
		must(t, s.Block(ctx, owner, addr("spam@example.net")))
		must(t, s.PushOffline(ctx, owner, fullMessage(1, "carol@example.org", owner.String(), base)))
		_, err = s.AppendArchive(ctx, owner, crosstalk.ArchivedMessage{With: addr("carol@example.org"),
			Message: fullMessage(2, "carol@example.org", owner.String(), base)})
		must(t, err)
		must(t, s.PutRegistration(ctx, crosstalk.Registration{AOR: owner, Contact: "sip:" + owner.Local() + "@192.0.2.1",
			Q: 1000, Expires: base.Add(time.Hour)}))
		must(t, s.PutPEPNode(ctx, crosstalk.PEPNode{Owner: owner, Node: "n", Access: "open", MaxItems: 1}))
		must(t, s.PublishPEPItem(ctx, owner, "n", crosstalk.PEPItem{ID: "i", Payload: []byte("<x/>"), Published: base}))
		must(t, s.PutVCard(ctx, owner, []byte("<vCard xmlns='vcard-temp'/>")))
		must(t, s.PutLastActivity(ctx, owner, crosstalk.LastActivity{At: base}))
		must(t, s.PutLoginToken(ctx, loginToken(owner, "phone", owner.Local()[0], 0), 8))
	}
	fill(alice)
	fill(bob)
	must(t, s.DeleteAccount(ctx, alice))

	check := func(owner crosstalk.Address, present bool) {
		t.Helper()
		n := 0
		if present {
			n = 1
		}
		r, err := s.GetRoster(ctx, owner)
		must(t, err)
		if len(r.Items) != n {
			t.Errorf("%v: %d roster items, want %d", owner, len(r.Items), n)
		}
		bl, err := s.Blocklist(ctx, owner)
		must(t, err)
		if len(bl) != n {
			t.Errorf("%v: blocklist %v, want %d entries", owner, bl, n)
		}
		if blocked, err := s.IsBlocked(ctx, owner, addr("spam@example.net")); err != nil || blocked != present {
			t.Errorf("%v: IsBlocked = %v, %v; want %v", owner, blocked, err, present)
		}
		c, err := s.CountOffline(ctx, owner)
		must(t, err)
		if c != n {
			t.Errorf("%v: %d offline messages, want %d", owner, c, n)
		}
		p, err := s.QueryArchive(ctx, owner, crosstalk.ArchiveQuery{})
		must(t, err)
		if len(p.Messages) != n {
			t.Errorf("%v: %d archived messages, want %d", owner, len(p.Messages), n)
		}
		regs, err := s.ListRegistrations(ctx, owner, base)
		must(t, err)
		if len(regs) != n {
			t.Errorf("%v: %d registrations, want %d", owner, len(regs), n)
		}
		nodes, err := s.ListPEPNodes(ctx, owner)
		must(t, err)
		if len(nodes) != n {
			t.Errorf("%v: %d PEP nodes, want %d", owner, len(nodes), n)
		}
		if _, err := s.GetVCard(ctx, owner); (err == nil) != present {
			t.Errorf("%v: vCard error %v, want present %v", owner, err, present)
		}
		if _, err := s.GetLastActivity(ctx, owner); (err == nil) != present {
			t.Errorf("%v: last activity error %v, want present %v", owner, err, present)
		}
		if tokens, err := s.ClientLoginTokens(ctx, owner, "phone"); err != nil || len(tokens) != n {
			t.Errorf("%v: %d login tokens (%v), want %d", owner, len(tokens), err, n)
		}
	}
	check(alice, false)
	check(bob, true)

	// A new account under the old address starts empty.
	must(t, s.CreateAccount(ctx, crosstalk.Account{Address: alice, Created: base}))
	check(alice, false)
}
