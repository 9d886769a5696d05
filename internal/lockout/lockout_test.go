package lockout

import (
	"fmt"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(limit int, trust time.Duration) (*Lockout, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(Config{Limit: limit, Window: time.Minute, TrustFor: trust, Now: c.now}), c
}

func TestSourceLockedAtLimitUntilOldestLeavesWindow(t *testing.T) {
	l, c := newTest(3, 0)
	for i := 0; i < 2; i++ {
		l.Fail("alice@example.com", "192.0.2.1")
		c.t = c.t.Add(10 * time.Second)
	}
	if _, locked := l.SourceLocked("192.0.2.1"); locked {
		t.Fatal("locked after 2 of 3 failures")
	}
	l.Fail("alice@example.com", "192.0.2.1")
	wait, locked := l.SourceLocked("192.0.2.1")
	if !locked || wait != 40*time.Second {
		t.Fatalf("after 3 failures: locked=%v wait=%s, want true 40s", locked, wait)
	}
	if _, locked := l.SourceLocked("192.0.2.2"); locked {
		t.Fatal("another source is locked")
	}
	c.t = c.t.Add(40 * time.Second)
	if _, locked := l.SourceLocked("192.0.2.1"); locked {
		t.Fatal("still locked once the oldest failure left the window")
	}
}

func TestAccountLockedFromManySources(t *testing.T) {
	l, _ := newTest(3, time.Hour)
	for i := 0; i < 3; i++ {
		l.Fail("alice@example.com", fmt.Sprintf("192.0.2.%d", i))
	}
	if _, locked := l.AccountLocked("alice@example.com", "198.51.100.7"); !locked {
		t.Fatal("account not locked after 3 failures from 3 sources")
	}
	if _, locked := l.AccountLocked("bob@example.com", "198.51.100.7"); locked {
		t.Fatal("another account is locked")
	}
}

// A source that logged in to the account before is not locked out by
// failures others caused against it (the lock-out DoS), but its own
// per-source limit still holds.
func TestTrustedSourceEscapesAccountLockout(t *testing.T) {
	l, c := newTest(3, time.Hour)
	l.Succeed("alice@example.com", "198.51.100.7")
	for i := 0; i < 5; i++ {
		l.Fail("alice@example.com", fmt.Sprintf("192.0.2.%d", i))
	}
	if _, locked := l.AccountLocked("alice@example.com", "198.51.100.7"); locked {
		t.Fatal("trusted source locked out by others' failures")
	}
	if _, locked := l.AccountLocked("alice@example.com", "203.0.113.9"); !locked {
		t.Fatal("untrusted source not locked out")
	}
	for i := 0; i < 3; i++ {
		l.Fail("alice@example.com", "198.51.100.7")
	}
	if _, locked := l.SourceLocked("198.51.100.7"); !locked {
		t.Fatal("trusted source escaped its own per-source limit")
	}
	c.t = c.t.Add(2 * time.Hour)
	l.Fail("alice@example.com", "192.0.2.200")
	l.Fail("alice@example.com", "192.0.2.201")
	l.Fail("alice@example.com", "192.0.2.202")
	if _, locked := l.AccountLocked("alice@example.com", "198.51.100.7"); !locked {
		t.Fatal("trust did not expire")
	}
}

func TestTrustOffByDefault(t *testing.T) {
	l, _ := newTest(1, 0)
	l.Succeed("alice@example.com", "198.51.100.7")
	l.Fail("alice@example.com", "192.0.2.1")
	if _, locked := l.AccountLocked("alice@example.com", "198.51.100.7"); !locked {
		t.Fatal("TrustFor 0 still trusted a source")
	}
}

// A source and an account with the same text are different keys.
func TestSourceAndAccountKeysDistinct(t *testing.T) {
	l, _ := newTest(1, 0)
	l.Fail("", "x")
	if _, locked := l.AccountLocked("x", "y"); locked {
		t.Fatal("a source's failure locked the account of the same name")
	}
}

func TestMemoryBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(Config{Limit: 5, Window: time.Minute, MaxKeys: 100, TrustFor: time.Hour, Now: c.now})
	for i := 0; i < 10000; i++ {
		l.Fail(fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		l.Succeed(fmt.Sprintf("u%d@example.com", i), "192.0.2.1")
	}
	if n := len(l.failures); n > 102 {
		t.Fatalf("%d failure keys tracked, max 100 (+ one call's 2)", n)
	}
	if n := len(l.trusted); n > 101 {
		t.Fatalf("%d trusted pairs tracked, max 100", n)
	}
}
