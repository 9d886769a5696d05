package crosstalk_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// newDomainHub is a hub for example.com with the service domain
// gw.example.com and a recording federation.
func newDomainHub(t *testing.T) (*crosstalk.Hub, *recordingRemote) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/hub.db", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	remote := &recordingRemote{}
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: []string{"example.com"}, Remote: remote, ServiceDomains: []string{"gw.example.com"}}, st, zerolog.Nop())
	t.Cleanup(func() { _ = hub.Close(ctx) })
	if err := hub.CreateAccount(ctx, addr("alice"), "secret-alice", crosstalk.MinSCRAMIterations); err != nil {
		t.Fatal(err)
	}
	return hub, remote
}

func TestServiceDomainRouting(t *testing.T) {
	ctx := context.Background()
	hub, remote := newDomainHub(t)
	alice := addr("alice/phone")
	gwUser := crosstalk.MustParseAddress("bob@gw.example.com")
	msg := func(to crosstalk.Address, id string) *crosstalk.Message {
		return &crosstalk.Message{ID: id, From: alice, To: to, Type: crosstalk.MessageChat, Body: id}
	}

	// Not connected: the service exists but is unavailable.
	if err := hub.RouteMessage(ctx, msg(gwUser, "m0")); !errors.Is(err, crosstalk.ErrEndpointClosed) {
		t.Fatalf("message to an unbound service domain: %v, want ErrEndpointClosed", err)
	}
	if err := hub.BindDomain(ctx, "other.example.com", newEndpoint(8)); !errors.Is(err, crosstalk.ErrInvalidAddress) {
		t.Fatalf("binding a domain that is not a service domain: %v", err)
	}

	ep := newEndpoint(8)
	if err := hub.BindDomain(ctx, "gw.example.com", ep); err != nil {
		t.Fatal(err)
	}
	if err := hub.BindDomain(ctx, "gw.example.com", newEndpoint(8)); !errors.Is(err, crosstalk.ErrConflict) {
		t.Fatalf("second bind: %v, want ErrConflict", err)
	}
	if got := hub.BoundDomains(); len(got) != 1 || got[0] != "gw.example.com" {
		t.Fatalf("BoundDomains = %v", got)
	}
	for _, ev := range []crosstalk.Event{
		msg(gwUser, "m1"),
		msg(crosstalk.MustParseAddress("gw.example.com"), "m2"),
	} {
		if err := hub.RouteMessage(ctx, ev.(*crosstalk.Message)); err != nil {
			t.Fatal(err)
		}
	}
	if err := hub.RouteQuery(ctx, &crosstalk.Query{ID: "q1", From: alice, To: crosstalk.MustParseAddress("gw.example.com"), Type: crosstalk.QueryGet}); err != nil {
		t.Fatal(err)
	}
	if err := hub.SetPresence(ctx, &crosstalk.Presence{From: alice, To: gwUser, Type: crosstalk.PresenceProbe}); err != nil {
		t.Fatal(err)
	}
	got := ep.take()
	if len(got) != 4 {
		t.Fatalf("the domain endpoint got %d events, want 4: %v", len(got), got)
	}
	if m := messages(got); len(m) != 2 || m[0].ID != "m1" || m[1].ID != "m2" {
		t.Fatalf("messages: %v", m)
	}
	// Another domain still goes to federation.
	if err := hub.RouteMessage(ctx, msg(crosstalk.MustParseAddress("carol@elsewhere.test"), "m3")); err != nil {
		t.Fatal(err)
	}
	if len(remote.events) != 1 {
		t.Fatalf("federation got %d events, want 1", len(remote.events))
	}

	// A stale unbind leaves the binding; the real one removes it.
	hub.UnbindDomain("gw.example.com", newEndpoint(1))
	if len(hub.BoundDomains()) != 1 {
		t.Fatal("a stale unbind removed the binding")
	}
	hub.UnbindDomain("gw.example.com", ep)
	if err := hub.RouteMessage(ctx, msg(gwUser, "m4")); !errors.Is(err, crosstalk.ErrEndpointClosed) {
		t.Fatalf("after unbind: %v", err)
	}
}

func TestServiceDomainSlowEndpointUnbound(t *testing.T) {
	ctx := context.Background()
	hub, _ := newDomainHub(t)
	ep := newEndpoint(1)
	if err := hub.BindDomain(ctx, "gw.example.com", ep); err != nil {
		t.Fatal(err)
	}
	to := crosstalk.MustParseAddress("gw.example.com")
	m := func(id string) *crosstalk.Message {
		return &crosstalk.Message{ID: id, From: addr("alice/x"), To: to, Type: crosstalk.MessageChat}
	}
	if err := hub.RouteMessage(ctx, m("1")); err != nil {
		t.Fatal(err)
	}
	if err := hub.RouteMessage(ctx, m("2")); !errors.Is(err, crosstalk.ErrEndpointClosed) {
		t.Fatalf("overflow: %v", err)
	}
	if !errors.Is(ep.closedWith(), crosstalk.ErrSlowConsumer) {
		t.Fatalf("slow endpoint closed with %v", ep.closedWith())
	}
	if len(hub.BoundDomains()) != 0 {
		t.Fatal("slow endpoint still bound")
	}
}
