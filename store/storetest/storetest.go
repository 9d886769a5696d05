package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// Run runs the whole contract. newStore must return a fresh, empty store
// and close it when t ends; subtests run in parallel, each on its own store.
func Run(t *testing.T, newStore func(t *testing.T) crosstalk.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s crosstalk.Store)
	}{
		{"Accounts", testAccounts},
		{"AccountDeleteCascades", testAccountDeleteCascades},
		{"Roster", testRoster},
		{"RosterConcurrentVersions", testRosterConcurrent},
		{"Blocklist", testBlocklist},
		{"Offline", testOffline},
		{"OfflineConcurrentClaims", testOfflineConcurrent},
		{"Archive", testArchive},
		{"ArchivePaging", testArchivePaging},
		{"ArchiveBatch", testArchiveBatch},
		{"ArchiveGivenIDs", testArchiveGivenIDs},
		{"ArchiveBounds", testArchiveBounds},
		{"Rooms", testRooms},
		{"Registrations", testRegistrations},
		{"PEP", testPEP},
		{"VCard", testVCard},
		{"LastActivity", testLastActivity},
		{"LoginTokens", testLoginTokens},
		{"LoginTokensBounded", testLoginTokensBounded},
		{"LoginTokensExpiry", testLoginTokensExpiry},
		{"Transactions", testTransactions},
		{"NestedTransactions", testNestedTransactions},
		{"CancelledContext", testCancelledContext},
		{"Model", testModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// addr parses a test address.
func addr(s string) crosstalk.Address { return crosstalk.MustParseAddress(s) }

// base is a time with nanoseconds, which stores truncate to microseconds.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// us is t as a store gives it back: UTC, truncated to microseconds.
func us(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails the test unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// equal fails the test unless got and want are deeply equal.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// normBytes maps empty slices to nil: stores need not tell them apart.
func normBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// normStrings maps empty slices to nil.
func normStrings(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// normMessage is m as the store should return it.
func normMessage(m crosstalk.Message) crosstalk.Message {
	m.Time = us(m.Time)
	m.Native.Payload = normBytes(m.Native.Payload)
	return m
}

// fullMessage returns a message with every field set, distinct per n.
func fullMessage(n int, from, to string, at time.Time) crosstalk.Message {
	payload := make([]byte, 64+n)
	for i := range payload {
		payload[i] = byte(i*7 + n)
	}
	payload[0], payload[1] = 0, 0xff
	return crosstalk.Message{
		ID:      fmt.Sprintf("msg-%d", n),
		From:    addr(from),
		To:      addr(to),
		Type:    crosstalk.MessageChat,
		Body:    fmt.Sprintf("body %d: ünïcödé ✓ 'quote' \"dq\" \\ %%", n),
		Subject: fmt.Sprintf("subject %d", n),
		Thread:  fmt.Sprintf("thread-%d", n%3),
		Lang:    "en",
		Time:    at,
		Native: crosstalk.Native{
			Protocol:    crosstalk.ProtocolXMPP,
			ContentType: "application/xml",
			Payload:     payload,
		},
	}
}

// bytesEqual compares byte slices, treating nil and empty alike.
func bytesEqual(a, b []byte) bool { return bytes.Equal(a, b) }

// cancelled returns a context that is already cancelled.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
