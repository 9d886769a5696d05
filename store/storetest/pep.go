package storetest

import (
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

func testPEP(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice, bob := addr("alice@example.com"), addr("bob@example.com")
	const devices = "eu.siacs.conversations.axolotl.devicelist"

	_, err := s.GetPEPNode(ctx, alice, devices)
	wantErr(t, "missing node", err, crosstalk.ErrNotFound)
	_, err = s.PEPItems(ctx, alice, devices, nil, 0)
	wantErr(t, "items of missing node", err, crosstalk.ErrNotFound)
	wantErr(t, "publish without node", s.PublishPEPItem(ctx, alice, devices, crosstalk.PEPItem{ID: "current"}), crosstalk.ErrNotFound)

	n := crosstalk.PEPNode{Owner: alice, Node: devices, Access: "open", MaxItems: 1}
	must(t, s.PutPEPNode(ctx, n))
	got, err := s.GetPEPNode(ctx, alice, devices)
	must(t, err)
	equal(t, "node", got, n)
	_, err = s.GetPEPNode(ctx, bob, devices)
	wantErr(t, "other owner's node", err, crosstalk.ErrNotFound)

	first := crosstalk.PEPItem{ID: "current", Payload: []byte("<list xmlns='eu.siacs.conversations.axolotl'/>"), Published: base}
	must(t, s.PublishPEPItem(ctx, alice, devices, first))
	items, err := s.PEPItems(ctx, alice, devices, nil, 0)
	must(t, err)
	equal(t, "items", items, []crosstalk.PEPItem{{ID: "current", Payload: first.Payload, Published: us(base)}})

	// max_items 1 keeps the last item only.
	second := crosstalk.PEPItem{ID: "other", Payload: []byte("<x/>"), Published: base.Add(time.Second)}
	must(t, s.PublishPEPItem(ctx, alice, devices, second))
	items, err = s.PEPItems(ctx, alice, devices, nil, 0)
	must(t, err)
	equal(t, "items after second publish", items, []crosstalk.PEPItem{{ID: "other", Payload: []byte("<x/>"), Published: us(second.Published)}})

	// A larger node keeps order newest first; republishing an id moves it up.
	must(t, s.PutPEPNode(ctx, crosstalk.PEPNode{Owner: alice, Node: "bookmarks", Access: "presence", MaxItems: 3}))
	for i, id := range []string{"a", "b", "c", "a", "d"} {
		must(t, s.PublishPEPItem(ctx, alice, "bookmarks", crosstalk.PEPItem{ID: id, Payload: []byte(id), Published: base.Add(time.Duration(i) * time.Second)}))
	}
	ids := func(l []crosstalk.PEPItem) []string {
		var out []string
		for _, it := range l {
			out = append(out, it.ID)
		}
		return out
	}
	items, err = s.PEPItems(ctx, alice, "bookmarks", nil, 0)
	must(t, err)
	equal(t, "bookmarks", ids(items), []string{"d", "a", "c"})
	items, err = s.PEPItems(ctx, alice, "bookmarks", nil, 2)
	must(t, err)
	equal(t, "max 2", ids(items), []string{"d", "a"})
	items, err = s.PEPItems(ctx, alice, "bookmarks", []string{"c", "b", "a"}, 0)
	must(t, err)
	equal(t, "by id", ids(items), []string{"a", "c"})

	// Shrinking a node trims its oldest items.
	must(t, s.PutPEPNode(ctx, crosstalk.PEPNode{Owner: alice, Node: "bookmarks", Access: "open", MaxItems: 1}))
	items, err = s.PEPItems(ctx, alice, "bookmarks", nil, 0)
	must(t, err)
	equal(t, "trimmed", ids(items), []string{"d"})

	nodes, err := s.ListPEPNodes(ctx, alice)
	must(t, err)
	equal(t, "nodes", nodes, []crosstalk.PEPNode{{Owner: alice, Node: "bookmarks", Access: "open", MaxItems: 1}, n})

	wantErr(t, "retract missing", s.RetractPEPItem(ctx, alice, "bookmarks", "zz"), crosstalk.ErrNotFound)
	must(t, s.RetractPEPItem(ctx, alice, "bookmarks", "d"))
	items, err = s.PEPItems(ctx, alice, "bookmarks", nil, 0)
	must(t, err)
	if len(items) != 0 {
		t.Fatalf("after retract: %v", items)
	}

	must(t, s.DeletePEPNode(ctx, alice, devices))
	wantErr(t, "delete twice", s.DeletePEPNode(ctx, alice, devices), crosstalk.ErrNotFound)
	_, err = s.PEPItems(ctx, alice, devices, nil, 0)
	wantErr(t, "items of deleted node", err, crosstalk.ErrNotFound)
	// A node created again starts empty.
	must(t, s.PutPEPNode(ctx, n))
	items, err = s.PEPItems(ctx, alice, devices, nil, 0)
	must(t, err)
	if len(items) != 0 {
		t.Fatalf("recreated node has items %v", items)
	}
}

func testVCard(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice := addr("alice@example.com")
	_, err := s.GetVCard(ctx, alice)
	wantErr(t, "missing vcard", err, crosstalk.ErrNotFound)
	must(t, s.PutVCard(ctx, alice, []byte("<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>")))
	must(t, s.PutVCard(ctx, alice, []byte("<vCard xmlns='vcard-temp'><FN>Älice</FN></vCard>")))
	v, err := s.GetVCard(ctx, alice)
	must(t, err)
	equal(t, "vcard", string(v), "<vCard xmlns='vcard-temp'><FN>Älice</FN></vCard>")
}

func testLastActivity(t *testing.T, s crosstalk.Store) {
	ctx := t.Context()
	alice := addr("alice@example.com")
	_, err := s.GetLastActivity(ctx, alice)
	wantErr(t, "missing", err, crosstalk.ErrNotFound)
	must(t, s.PutLastActivity(ctx, alice, crosstalk.LastActivity{At: base, Status: "gone"}))
	must(t, s.PutLastActivity(ctx, alice, crosstalk.LastActivity{At: base.Add(time.Hour), Status: "Heading home"}))
	la, err := s.GetLastActivity(ctx, alice)
	must(t, err)
	equal(t, "last activity", la, crosstalk.LastActivity{At: us(base.Add(time.Hour)), Status: "Heading home"})
}
