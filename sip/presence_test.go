package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// TestSubscribeActiveAndPublish: a watcher with a both subscription gets
// an immediate NOTIFY with the presentity's aggregated presence, and one on
// every change, here a PUBLISH by the presentity.
func TestSubscribeActiveAndPublish(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob")
	befriend(t, e, "alice", "bob")
	bob := newWatcher(t, "bob")
	res := bob.subscribe(e, "alice", "presence", 60)
	wantStatus(t, res, 200)
	if tag, _ := res.To().Params.Get("tag"); tag == "" || hv(res, "Expires") != "60" || res.Contact() == nil {
		t.Fatalf("200 lacks a To tag, Expires or Contact:\n%s", res)
	}
	n := bob.notifyWith(5*time.Second, "active;expires=", "<basic>closed</basic>")
	if hv(n, "Event") != "presence" || !strings.HasPrefix(hv(n, "Content-Type"), "application/pidf+xml") {
		t.Fatalf("NOTIFY headers:\n%s", n)
	}
	alice := newWatcher(t, "alice")
	pub := alice.publish(e, pidf("alice", "open", "away", "lunch"), "", 60)
	wantStatus(t, pub, 200)
	bob.notifyWith(5*time.Second, "active", "<basic>open</basic>", "rpid:away", "lunch")
}

// TestSubscribePendingApproved: an unknown watcher is pending; the request
// reaches the presentity's roster (so every protocol sees it), and the
// approval through the hub makes the subscription active with a NOTIFY.
func TestSubscribePendingApproved(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "carol")
	xmppSide := &chanEndpoint{events: make(chan crosstalk.Event, 64)}
	xa, err := e.hub.Bind(context.Background(), crosstalk.MustParseAddress("alice@localhost/xmpp"), xmppSide)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.hub.SetPresence(context.Background(), &crosstalk.Presence{From: xa}); err != nil {
		t.Fatal(err)
	}
	carol := newWatcher(t, "carol")
	wantStatus(t, carol.subscribe(e, "alice", "presence", 60), 200)
	n := carol.notifyWith(5*time.Second, "pending")
	xmppSide.waitSubscribe(t, "carol@localhost")
	if len(n.Body()) != 0 {
		t.Fatalf("pending NOTIFY has a body: %s", n.Body())
	}
	ctx := context.Background()
	alice, c := crosstalk.MustParseAddress("alice@localhost"), crosstalk.MustParseAddress("carol@localhost")
	item, err := e.store.GetRosterItem(ctx, alice, c)
	if err != nil || !item.PendingIn {
		t.Fatalf("alice's roster has no pending request from carol: %+v %v", item, err)
	}
	if err := e.hub.SetPresence(ctx, &crosstalk.Presence{From: alice, To: c, Type: crosstalk.PresenceSubscribed}); err != nil {
		t.Fatal(err)
	}
	carol.notifyWith(5*time.Second, "active", "<basic>open</basic>")
}

// TestSubscribePendingDenied: a denial ends the subscription with
// terminated;reason=rejected.
func TestSubscribePendingDenied(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "carol")
	carol := newWatcher(t, "carol")
	wantStatus(t, carol.subscribe(e, "alice", "presence", 60), 200)
	carol.notifyWith(5*time.Second, "pending")
	alice, c := crosstalk.MustParseAddress("alice@localhost"), crosstalk.MustParseAddress("carol@localhost")
	if err := e.hub.SetPresence(context.Background(), &crosstalk.Presence{From: alice, To: c, Type: crosstalk.PresenceUnsubscribed}); err != nil {
		t.Fatal(err)
	}
	carol.notifyWith(5*time.Second, "terminated;reason=rejected")
}

// TestSubscribeRefreshUnsubscribeExpire covers refresh (NOTIFY at once),
// Expires: 0 (terminated) and expiry (terminated;reason=timeout).
func TestSubscribeRefreshUnsubscribeExpire(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob")
	befriend(t, e, "alice", "bob")
	bob := newWatcher(t, "bob")
	res := bob.subscribe(e, "alice", "presence", 60)
	wantStatus(t, res, 200)
	bob.notifyWith(5*time.Second, "active")
	ref := bob.refresh(e, res, "presence", 120, 10)
	wantStatus(t, ref, 200)
	bob.notifyWith(5*time.Second, "active;expires=1")
	wantStatus(t, bob.refresh(e, res, "presence", 0, 12), 200)
	bob.notifyWith(5*time.Second, "terminated")
	wantStatus(t, bob.refresh(e, res, "presence", 60, 14), 481)

	res = bob.subscribe(e, "alice", "presence", 1)
	wantStatus(t, res, 200)
	bob.notifyWith(5*time.Second, "active")
	bob.notifyWith(5*time.Second, "terminated;reason=timeout", "<basic>closed</basic>")
}

// TestSubscribeRefused: unknown packages get 489, foreign watchers 403,
// unknown presentities 404, short expiries 423, winfo of another 403.
func TestSubscribeRefused(t *testing.T) {
	e := newEnv(t, func(c *Config) { presenceTweak(c); c.Presence.MinExpires = 30 * time.Second }, "alice", "bob")
	bob := newWatcher(t, "bob")
	res := bob.subscribe(e, "alice", "dialog", 60)
	wantStatus(t, res, 489)
	if !strings.Contains(hv(res, "Allow-Events"), "presence") {
		t.Fatalf("489 without Allow-Events:\n%s", res)
	}
	wantStatus(t, bob.subscribe(e, "nobody", "presence", 60), 404)
	res = bob.subscribe(e, "alice", "presence", 5)
	wantStatus(t, res, 423)
	if hv(res, "Min-Expires") != "30" {
		t.Fatalf("423 without Min-Expires:\n%s", res)
	}
	wantStatus(t, bob.subscribe(e, "alice", "presence.winfo", 60), 403)
	wantStatus(t, bob.subscribe(e, "alice", "presence", 60, sipmsg.NewHeader("Accept", "application/xpidf+xml")), 406)

	req := bob.request(sipmsg.SUBSCRIBE, sipmsg.Uri{Scheme: "sip", User: "alice", Host: "localhost"}, e.udp)
	req.From().Address.Host = "elsewhere.example"
	req.AppendHeader(sipmsg.NewHeader("Event", "presence"))
	r, err := bob.client.Do(ctxT(t, 5*time.Second), req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, r, 403)
	if !strings.Contains(r.Reason, "other domains") {
		t.Fatalf("foreign watcher refused without saying why: %s", status(r))
	}
}

// TestNotifyRateLimit: within MinNotifyInterval changes are coalesced into
// one NOTIFY sent when the interval has passed.
func TestNotifyRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { presenceTweak(c); c.Presence.MinNotifyInterval = 1500 * time.Millisecond }, "alice", "bob")
	befriend(t, e, "alice", "bob")
	bob := newWatcher(t, "bob")
	wantStatus(t, bob.subscribe(e, "alice", "presence", 60), 200)
	bob.notifyWith(5*time.Second, "active", "closed")
	alice := newWatcher(t, "alice")
	start := time.Now()
	res := alice.publish(e, pidf("alice", "open", "", "one"), "", 60)
	wantStatus(t, res, 200)
	wantStatus(t, alice.publish(e, pidf("alice", "open", "", "two"), hv(res, "SIP-ETag"), 60), 200)
	bob.noNotify(800 * time.Millisecond)
	bob.notifyWith(5*time.Second, "active", "two")
	if time.Since(start) < 1200*time.Millisecond {
		t.Fatalf("NOTIFY after %s, before the interval", time.Since(start))
	}
	bob.noNotify(500 * time.Millisecond)
}

// chanEndpoint is a hub endpoint standing for a client of another
// protocol: it records what the hub delivers.
type chanEndpoint struct{ events chan crosstalk.Event }

func (*chanEndpoint) Protocol() crosstalk.Protocol { return crosstalk.ProtocolXMPP }
func (c *chanEndpoint) Deliver(ev crosstalk.Event) error {
	select {
	case c.events <- ev:
		return nil
	default:
		return crosstalk.ErrSlowConsumer
	}
}
func (*chanEndpoint) Close(error) {}

// waitSubscribe waits for a subscription request from a bare address.
func (c *chanEndpoint) waitSubscribe(t *testing.T, from string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-c.events:
			if p, ok := ev.(*crosstalk.Presence); ok && p.Type == crosstalk.PresenceSubscribe && p.From.String() == from {
				return
			}
		case <-deadline:
			t.Fatalf("no subscription request from %s reached the other protocol", from)
		}
	}
}

// TestSubscribeBlocked: a blocked watcher is refused (403), and blocking
// an active watcher ends its subscription (rejected).
func TestSubscribeBlocked(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob", "carol")
	befriend(t, e, "alice", "bob")
	ctx := context.Background()
	alice := crosstalk.MustParseAddress("alice@localhost")
	if err := e.hub.Block(ctx, alice, crosstalk.MustParseAddress("carol@localhost")); err != nil {
		t.Fatal(err)
	}
	carol := newWatcher(t, "carol")
	wantStatus(t, carol.subscribe(e, "alice", "presence", 60), 403)
	bob := newWatcher(t, "bob")
	wantStatus(t, bob.subscribe(e, "alice", "presence", 60), 200)
	bob.notifyWith(5*time.Second, "active")
	if err := e.hub.Block(ctx, alice, crosstalk.MustParseAddress("bob@localhost")); err != nil {
		t.Fatal(err)
	}
	bob.notifyWith(5*time.Second, "terminated;reason=rejected")
}

// TestSubscriptionsBoundedPerAccount: a watcher account holds at most
// MaxSubscriptionsPerAccount subscriptions; ending one frees its place.
func TestSubscriptionsBoundedPerAccount(t *testing.T) {
	e := newEnv(t, func(c *Config) { presenceTweak(c); c.Presence.MaxSubscriptionsPerAccount = 2 }, "alice", "bob")
	bob := newWatcher(t, "bob")
	first := bob.subscribe(e, "bob", "presence", 60)
	wantStatus(t, first, 200)
	wantStatus(t, bob.subscribe(e, "bob", "presence.winfo", 60), 200)
	wantStatus(t, bob.subscribe(e, "alice", "presence", 60), 403)
	bob.notifyWith(5*time.Second, "active")
	wantStatus(t, bob.refresh(e, first, "presence", 0, 20), 200)
	bob.notifyWith(5*time.Second, "terminated")
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := bob.subscribe(e, "alice", "presence", 60)
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ended subscription's place was not freed: %s", status(res))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSubscribeNoResource: deleting the presentity's account ends its
// subscriptions with terminated;reason=noresource.
func TestSubscribeNoResource(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob")
	befriend(t, e, "alice", "bob")
	bob := newWatcher(t, "bob")
	wantStatus(t, bob.subscribe(e, "alice", "presence", 60), 200)
	bob.notifyWith(5*time.Second, "active")
	if err := e.hub.DeleteAccount(context.Background(), crosstalk.MustParseAddress("alice@localhost")); err != nil {
		t.Fatal(err)
	}
	bob.notifyWith(5*time.Second, "terminated;reason=noresource")
}

// TestShutdownDeactivates: at shutdown every watcher is told to subscribe
// again (terminated;reason=deactivated).
func TestShutdownDeactivates(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob")
	befriend(t, e, "alice", "bob")
	bob := newWatcher(t, "bob")
	wantStatus(t, bob.subscribe(e, "alice", "presence", 60), 200)
	bob.notifyWith(5*time.Second, "active")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	bob.notifyWith(5*time.Second, "terminated;reason=deactivated")
}

// TestXMPPPresenceNotified: presence set by an endpoint of another
// protocol (an XMPP resource) reaches SIP watchers as PIDF with RPID.
func TestXMPPPresenceNotified(t *testing.T) {
	e := newEnv(t, presenceTweak, "alice", "bob")
	befriend(t, e, "alice", "bob")
	bob := newWatcher(t, "bob")
	wantStatus(t, bob.subscribe(e, "alice", "presence", 60), 200)
	bob.notifyWith(5*time.Second, "active", "<basic>closed</basic>")
	ctx := context.Background()
	ep := &chanEndpoint{events: make(chan crosstalk.Event, 64)}
	xa, err := e.hub.Bind(ctx, crosstalk.MustParseAddress("alice@localhost/laptop"), ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.hub.SetPresence(ctx, &crosstalk.Presence{From: xa, Show: crosstalk.ShowXA, Status: "gone fishing"}); err != nil {
		t.Fatal(err)
	}
	bob.notifyWith(5*time.Second, "active", "<basic>open</basic>", "gone fishing", "<rpid:")
	e.hub.Unbind(ctx, xa, ep, nil) // the session ends: unavailable
	bob.notifyWith(5*time.Second, "active", "<basic>closed</basic>")
}
