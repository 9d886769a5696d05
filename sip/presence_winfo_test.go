package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// TestWinfoPendingWatcher: alice subscribed to her own presence.winfo
// learns that carol waits (RFC 3857/3858), and that she is active once
// approved.
func TestWinfoPendingWatcher(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "carol")
	alice := newWatcher(t, "alice")
	res := alice.subscribe(e, "alice", "presence.winfo", 60)
	wantStatus(t, res, 200)
	n := alice.notifyWith(5*time.Second, "active", `<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo"`, `state="full"`)
	if hv(n, "Event") != "presence.winfo" || hv(n, "Content-Type") != "application/watcherinfo+xml" {
		t.Fatalf("winfo NOTIFY headers:\n%s", n)
	}
	carol := newWatcher(t, "carol")
	wantStatus(t, carol.subscribe(e, "alice", "presence", 60), 200)
	alice.notifyWith(5*time.Second, "active", `status="pending"`, "sip:carol@localhost")
	ctx := context.Background()
	if err := e.hub.SetPresence(ctx, &crosstalk.Presence{From: crosstalk.MustParseAddress("alice@localhost"), To: crosstalk.MustParseAddress("carol@localhost"), Type: crosstalk.PresenceSubscribed}); err != nil {
		t.Fatal(err)
	}
	alice.notifyWith(5*time.Second, "active", `status="active"`, "sip:carol@localhost")
	carol.notifyWith(5*time.Second, "active", "<basic>")
}

// TestResourceList: alice's buddy list (RFC 4662) gives one multipart
// NOTIFY with RLMI and a PIDF per contact she sees, then partial updates.
func TestResourceList(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob", "carol")
	befriend(t, e, "alice", "bob")
	befriend(t, e, "alice", "carol")
	alice := newWatcher(t, "alice")
	alice.tp = "TCP" // the NOTIFY is larger than a UDP datagram may be
	wantStatus(t, alice.subscribe(e, "alice-buddies", "presence", 60), 421)
	res := alice.subscribe(e, "alice-buddies", "presence", 60, sipmsg.NewHeader("Supported", "eventlist"))
	wantStatus(t, res, 200)
	n := alice.notifyWith(5*time.Second, "active", `fullState="true"`, "sip:bob@localhost", "sip:carol@localhost", "application/pidf+xml")
	ct := hv(n, "Content-Type")
	if !strings.HasPrefix(ct, "multipart/related") || !strings.Contains(ct, "application/rlmi+xml") || hv(n, "Require") != "eventlist" {
		t.Fatalf("RLS NOTIFY headers:\n%s", n)
	}
	if c := strings.Count(string(n.Body()), "entity=\"sip:"); c != 2 {
		t.Fatalf("%d PIDF parts, want 2:\n%s", c, n.Body())
	}
	bob := newWatcher(t, "bob")
	wantStatus(t, bob.publish(e, pidf("bob", "open", "away", "coffee"), "", 60), 200)
	n = alice.notifyWith(5*time.Second, "active", `fullState="false"`, "sip:bob@localhost", "coffee")
	if strings.Contains(string(n.Body()), "sip:carol@localhost") {
		t.Fatalf("partial NOTIFY lists an unchanged contact:\n%s", n.Body())
	}
	bob2 := newWatcher(t, "bob")
	wantStatus(t, bob2.subscribe(e, "alice-buddies", "presence", 60, sipmsg.NewHeader("Supported", "eventlist")), 403)
}
