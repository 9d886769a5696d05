package main

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"
)

// presenceBody returns a decoder positioned after a presence's start
// element, as a handler sees it.
func presenceBody(t testing.TB, s string) xml.TokenReader {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMUCPresenceInfo(t *testing.T) {
	for i, c := range []struct {
		xml     string
		created bool
		cond    string
	}{
		0: {`<presence><x xmlns='` + nsMUCUser + `'><item affiliation='owner' role='moderator'/><status code='110'/><status code='201'/></x></presence>`, true, "no condition"},
		1: {`<presence><x xmlns='` + nsMUCUser + `'><status code='110'/></x></presence>`, false, "no condition"},
		2: {`<presence type='error'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`, false, "conflict"},
		3: {`<presence><status code='201'/></presence>`, false, "no condition"}, // not muc#user
		4: {`<presence><x xmlns='` + nsMUCUser + `'><status code='201'`, false, "no condition"},
	} {
		created, cond := mucPresenceInfo(presenceBody(t, c.xml))
		if created != c.created || cond != c.cond {
			t.Errorf("%d: created %v cond %q, want %v %q", i, created, cond, c.created, c.cond)
		}
	}
}

func FuzzMUCPresenceInfo(f *testing.F) {
	f.Add(`<presence><x xmlns='` + nsMUCUser + `'><status code='201'/></x></presence>`)
	f.Add(`<presence type='error'><error><item-not-found/></error></presence>`)
	f.Fuzz(func(t *testing.T, s string) {
		d := xml.NewDecoder(strings.NewReader(s))
		if _, err := d.Token(); err != nil {
			return
		}
		if _, cond := mucPresenceInfo(d); cond == "" {
			t.Error("empty condition")
		}
	})
}

func TestMUCDeliveries(t *testing.T) {
	room, _ := jid.Parse("r@conference.x")
	r := &mucRun{room: room, inflight: map[string]*mucMsg{}}
	rec, drec := newRecorder(), newRecorder()
	window := make(chan struct{}, 1)
	window <- struct{}{}
	m := &mucMsg{at: time.Now(), sender: 0, pending: 2, rec: rec, drec: drec, done: make(chan struct{}), window: window}
	r.track("m1", m)
	r.delivered(0, "m1", time.Now())    // the sender's echo: not a delivery
	r.delivered(1, "other", time.Now()) // unknown id
	r.delivered(1, "m1", time.Now())
	if ok, _ := rec.counts(); ok != 0 {
		t.Fatal("complete after one of two deliveries")
	}
	r.delivered(2, "m1", time.Now())
	select {
	case <-m.done:
	default:
		t.Fatal("not done after both deliveries")
	}
	if ok, _ := rec.counts(); ok != 1 {
		t.Errorf("messages ok %d, want 1", ok)
	}
	if ok, _ := drec.counts(); ok != 2 {
		t.Errorf("deliveries ok %d, want 2", ok)
	}
	if len(window) != 0 {
		t.Error("window slot not released")
	}
	r.delivered(1, "m1", time.Now()) // late duplicate: ignored
	if ok, _ := drec.counts(); ok != 2 {
		t.Errorf("deliveries ok %d after a duplicate, want 2", ok)
	}

	r.track("m2", &mucMsg{at: time.Now(), pending: 5, rec: rec, done: make(chan struct{})})
	r.bounced("m2")
	if _, failed := rec.counts(); failed != 1 {
		t.Errorf("bounce not counted: failed %d", failed)
	}

	busy := Phase{Name: "busy", Attempted: 3, OK: 3, Seconds: 2, ServerCPUMicros: 600}
	d := deliveryPhase(busy, drec, 2)
	if d.Name != "delivery" || d.OK != 2 || d.Attempted != 6 || d.PerSecond != 1 || d.ServerCPUPerOp != 300 {
		t.Errorf("delivery phase %+v", d)
	}
}
