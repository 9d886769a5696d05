package storetest

import (
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// BenchOfflinePushClaim measures pushing one message to an offline queue and
// claiming it back: two committed writes per iteration.
func BenchOfflinePushClaim(b *testing.B, s crosstalk.Store) {
	ctx := b.Context()
	owner := addr("alice@example.com")
	m := fullMessage(1, "bob@example.com/phone", "alice@example.com", base)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.PushOffline(ctx, owner, m); err != nil {
			b.Fatal(err)
		}
		got, err := s.ClaimOffline(ctx, owner, 0)
		if err != nil || len(got) != 1 {
			b.Fatalf("claim: %d messages, %v", len(got), err)
		}
	}
}

// BenchArchiveAppend measures appending one message to an archive.
func BenchArchiveAppend(b *testing.B, s crosstalk.Store) {
	ctx := b.Context()
	owner := addr("alice@example.com")
	m := crosstalk.ArchivedMessage{With: addr("bob@example.com"), Message: fullMessage(1, "bob@example.com/phone", "alice@example.com", base)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AppendArchive(ctx, owner, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchArchivePage measures reading a 50-message page of a 1000-message
// archive after an RSM id.
func BenchArchivePage(b *testing.B, s crosstalk.Store) {
	ctx := b.Context()
	owner := addr("alice@example.com")
	var after string
	for i := range 1000 {
		id, err := s.AppendArchive(ctx, owner, crosstalk.ArchivedMessage{With: addr("bob@example.com"),
			Message: fullMessage(i, "bob@example.com", "alice@example.com", base)})
		if err != nil {
			b.Fatal(err)
		}
		if i == 500 {
			after = id
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := s.QueryArchive(ctx, owner, crosstalk.ArchiveQuery{After: after, Max: 50})
		if err != nil || len(p.Messages) != 50 {
			b.Fatalf("page: %d messages, %v", len(p.Messages), err)
		}
	}
}

// BenchLoginReads measures the store reads of one XMPP login of an account
// with an empty roster and no offline messages: the account (SCRAM keys),
// the roster (the client's roster get; the hub keeps it while online) and
// the offline check at initial presence.
func BenchLoginReads(b *testing.B, s crosstalk.Store) {
	ctx := b.Context()
	owner := addr("alice@example.com")
	creds, err := crosstalk.NewCredentials(owner, "secret", crosstalk.MinSCRAMIterations)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.CreateAccount(ctx, crosstalk.Account{Address: owner, Credentials: creds, Created: base}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetAccount(ctx, owner); err != nil {
			b.Fatal(err)
		}
		if r, err := s.GetRoster(ctx, owner); err != nil || len(r.Items) != 0 {
			b.Fatalf("roster: %d items, %v", len(r.Items), err)
		}
		if got, err := s.ClaimOffline(ctx, owner, 0); err != nil || len(got) != 0 {
			b.Fatalf("offline: %d messages, %v", len(got), err)
		}
	}
}
