package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// TestPublishLifecycle covers RFC 3903: an initial PUBLISH gets a SIP-ETag
// and joins the aggregated presence; a refresh without body and a
// modification with SIP-If-Match get new tags; an unknown tag gets 412;
// Expires: 0 removes the publication; expiry does too.
func TestPublishLifecycle(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice")
	alice := newWatcher(t, "alice")
	addr := crosstalk.MustParseAddress("alice@localhost")

	res := alice.publish(e, pidf("alice", "open", "busy", "in a call"), "", 60)
	wantStatus(t, res, 200)
	etag := hv(res, "SIP-ETag")
	if etag == "" || hv(res, "Expires") != "60" {
		t.Fatalf("200 without SIP-ETag or Expires:\n%s", res)
	}
	agg := e.hub.Aggregate(addr)
	if !agg.Available() || agg.Show != crosstalk.ShowDND || agg.Status != "in a call" {
		t.Fatalf("aggregate after PUBLISH: %+v", agg)
	}

	res = alice.publish(e, "", etag, 60)
	wantStatus(t, res, 200)
	etag2 := hv(res, "SIP-ETag")
	if etag2 == "" || etag2 == etag {
		t.Fatalf("refresh kept the entity tag %q", etag2)
	}
	wantStatus(t, alice.publish(e, "", etag, 60), 412) // the old tag is gone

	res = alice.publish(e, pidf("alice", "open", "away", "back soon"), etag2, 60)
	wantStatus(t, res, 200)
	etag3 := hv(res, "SIP-ETag")
	if agg := e.hub.Aggregate(addr); agg.Show != crosstalk.ShowAway || agg.Status != "back soon" {
		t.Fatalf("aggregate after modification: %+v", agg)
	}

	// A second publisher: both are endpoints; removing one keeps the other.
	res = alice.publish(e, pidf("alice", "open", "", "desk phone"), "", 60)
	wantStatus(t, res, 200)
	second := hv(res, "SIP-ETag")
	if n := len(e.hub.PresenceOf(addr)); n != 2 {
		t.Fatalf("%d presences, want 2 publications", n)
	}
	wantStatus(t, alice.publish(e, "", etag3, 0), 200)
	if agg := e.hub.Aggregate(addr); !agg.Available() || agg.Status != "desk phone" {
		t.Fatalf("aggregate after removing one publication: %+v", agg)
	}
	wantStatus(t, alice.publish(e, "", "no-such-tag", 60), 412)

	res = alice.publish(e, "", second, 1)
	wantStatus(t, res, 200)
	deadline := time.Now().Add(5 * time.Second)
	for agg := e.hub.Aggregate(addr); agg.Available(); agg = e.hub.Aggregate(addr) {
		if time.Now().After(deadline) {
			t.Fatal("publication did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPublishRefused: bodies that are not PIDF, PIDF for another entity,
// PUBLISH for another account, other packages.
func TestPublishRefused(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob")
	alice := newWatcher(t, "alice")
	wantStatus(t, alice.publish(e, pidf("bob", "open", "", ""), "", 60), 403)
	wantStatus(t, alice.publish(e, "<presence", "", 60), 400)
	wantStatus(t, alice.publish(e, "", "", 60), 400)
	if n := len(e.hub.PresenceOf(crosstalk.MustParseAddress("alice@localhost"))); n != 0 {
		t.Fatalf("refused PUBLISHes left %d presences", n)
	}
}

// TestPublishNoMessages: a publication is a presence source, never a
// message target: a message to an account with only a publication is
// stored offline.
func TestPublishNoMessages(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob")
	alice := newWatcher(t, "alice")
	wantStatus(t, alice.publish(e, pidf("alice", "open", "", ""), "", 60), 200)
	m := &crosstalk.Message{From: crosstalk.MustParseAddress("bob@localhost"), To: crosstalk.MustParseAddress("alice@localhost"), Type: crosstalk.MessageChat, Body: "hi"}
	if err := e.hub.RouteMessage(ctxT(t, 5*time.Second), m); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.store.ClaimOffline(ctxT(t, 5*time.Second), crosstalk.MustParseAddress("alice@localhost"), 0)
	if err != nil || len(msgs) != 1 || !strings.Contains(msgs[0].Message.Body, "hi") {
		t.Fatalf("a message to an account with only a publication must be stored offline: %v %v", msgs, err)
	}
}
