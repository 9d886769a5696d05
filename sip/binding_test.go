package sip

import (
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

func TestFlowOf(t *testing.T) {
	tests := []struct {
		reg      crosstalk.Registration
		wantTP   string
		wantDest string
	}{
		0: {reg: crosstalk.Registration{Contact: "sip:a@127.0.0.1:5070", Received: "udp:127.0.0.1:5071"}},
		1: {reg: crosstalk.Registration{Contact: "sip:a@192.168.1.20:5060", Received: "udp:198.51.100.7:40123"}, wantTP: "UDP", wantDest: "198.51.100.7:40123"},
		2: {reg: crosstalk.Registration{Contact: "sip:a@192.168.1.20:5060", Received: "udp:192.168.1.20:5060"}},
		3: {reg: crosstalk.Registration{Contact: "sip:a@198.51.100.7:5060", Received: "udp:203.0.113.1:5060"}},
		4: {reg: crosstalk.Registration{Contact: "sip:a@x.invalid;transport=tcp", Received: "tcp:198.51.100.7:40000"}, wantTP: "TCP", wantDest: "198.51.100.7:40000"},
		5: {reg: crosstalk.Registration{Contact: "sip:a@127.0.0.1:5070", Received: "udp:127.0.0.1:5071", RegID: 1}, wantTP: "UDP", wantDest: "127.0.0.1:5071"},
		6: {reg: crosstalk.Registration{Contact: "sip:a@x.invalid;transport=ws", Received: "ws:198.51.100.7:443", Path: []string{"<sip:edge;lr>"}}},
		7: {reg: crosstalk.Registration{Contact: "sip:a@127.0.0.1", Received: "garbage"}},
	}
	for i, tc := range tests {
		tp, dest, ok := flowOf(tc.reg)
		if tp != tc.wantTP || dest != tc.wantDest || ok != (tc.wantTP != "") {
			t.Errorf("%d: flowOf = %q %q %v, want %q %q", i, tp, dest, ok, tc.wantTP, tc.wantDest)
		}
	}
}

// TestWriteContact compares the Contact a binding renders for the REGISTER
// 200 with what sipgo's ContactHeader writes for the same parameters (how
// the 200 was built before the rendering was kept per binding), before and
// after a refresh that changes what is rendered, and checks the flow kept
// with it.
func TestWriteContact(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	aor := crosstalk.MustParseAddress("alice@example.com")
	tests := []crosstalk.Registration{
		0: {Contact: "sip:alice@127.0.0.1:5070", Q: 1000, Expires: now.Add(300 * time.Second), Received: "udp:127.0.0.1:5070"},
		1: {Contact: "sip:alice@192.168.1.20:5060;transport=tcp;ob", Q: 500, Expires: now.Add(3599600 * time.Millisecond),
			InstanceID: "urn:uuid:00000000-0000-0000-0000-000000000001", RegID: 1, Received: "tcp:198.51.100.7:40000"},
		2: {Contact: "sips:alice@[2001:db8::1]:5061", Q: 0, Expires: now.Add(61 * time.Second),
			InstanceID: "urn:uuid:00000000-0000-0000-0000-000000000002", Path: []string{"<sip:edge.example.com;lr>"}},
	}
	want := func(reg crosstalk.Registration) string {
		var u sipmsg.Uri
		if err := sipmsg.ParseUri(reg.Contact, &u); err != nil {
			t.Fatal(err)
		}
		c := &sipmsg.ContactHeader{Address: u, Params: sipmsg.NewParams()}
		c.Params.Add("expires", strconv.Itoa(int(reg.Expires.Sub(now).Round(time.Second)/time.Second)))
		if reg.InstanceID != "" {
			c.Params.Add("+sip.instance", `"<`+reg.InstanceID+`>"`)
			if reg.RegID > 0 {
				c.Params.Add("reg-id", strconv.Itoa(reg.RegID))
			}
		}
		if reg.Q != 1000 {
			c.Params.Add("q", formatQ(reg.Q))
		}
		return c.Value()
	}
	check := func(i int, b *binding, reg crosstalk.Registration) {
		t.Helper()
		var sb strings.Builder
		sb.WriteString("x")
		id, regID, written := b.writeContact(&sb, now, false)
		if !written || id != reg.InstanceID || regID != reg.RegID {
			t.Fatalf("%d: writeContact = %q %d %v", i, id, regID, written)
		}
		if got := sb.String()[1:]; got != want(reg) {
			t.Errorf("%d: Contact %s, want %s", i, got, want(reg))
		}
		sb.Reset()
		if _, _, written := b.writeContact(&sb, now, true); written != (reg.InstanceID == "") || (!written && sb.Len() != 0) {
			t.Errorf("%d: with GRUUs asked for, written %v (%q)", i, written, sb.String())
		}
		tp, dest, ok := flowOf(reg)
		if r := b.rendered; r.flowTP != tp || r.flowDest != dest || r.flowOK != ok {
			t.Errorf("%d: kept flow %q %q %v, want %q %q %v", i, r.flowTP, r.flowDest, r.flowOK, tp, dest, ok)
		}
	}
	s := &Server{cfg: Defaults()}
	for i, reg := range tests {
		reg.AOR = aor
		b := newBinding(s, aor, reg)
		check(i, b, reg)
		// A refresh that changes what is rendered.
		next := tests[(i+1)%len(tests)]
		next.AOR = aor
		b.mu.Lock()
		b.setRegLocked(next)
		b.mu.Unlock()
		check(i, b, next)
	}
	b := newBinding(s, aor, crosstalk.Registration{AOR: aor, Contact: "not a uri <"})
	var sb strings.Builder
	if id, _, written := b.writeContact(&sb, now, false); written || id != "" || sb.Len() != 0 {
		t.Errorf("unparsable Contact: written %v, id %q, %q", written, id, sb.String())
	}
}

// TestRequestBound checks that newRequest's bound is never below the
// written length of the request it built (so a request the bound lets
// through over UDP is within the limit), for Contacts, Paths, addresses
// and bodies of every shape, and that the transport and destination it
// sets are what sipgo works out from the Request-URI and Route.
func TestRequestBound(t *testing.T) {
	regs := []crosstalk.Registration{
		{Contact: "sip:alice@127.0.0.1:5070", Received: "udp:127.0.0.1:5070"},
		{Contact: "sip:alice@192.168.1.20:5060;transport=tcp;ob", RegID: 1, Received: "tcp:198.51.100.7:40000"},
		{Contact: "sips:alice@[2001:db8::1]:5061", Path: []string{"<sip:edge.example.com;lr>", "<sip:[2001:db8::2]:5080;transport=tcp;lr>"}},
		{Contact: "sip:%61lice;x=%22y%22@host.example.com;maddr=10.0.0.1;transport=udp?Subject=hi%20there"},
	}
	outs := []sipmap.Outbound{
		{From: "sip:bob@example.com", To: "sip:alice@example.com", ContentType: "text/plain", Body: []byte("hi")},
		{From: "sip:b%40b%3Ax@example.com;gr=urn:uuid:1", To: "sip:alice@[2001:db8::7]", ContentType: "application/im-iscomposing+xml",
			Body: []byte(strings.Repeat("é", 600)), Subject: strings.Repeat("s", 300)},
		{From: "sip:room@conference.example.com", To: "sip:alice@127.0.0.1", ContentType: "text/plain;charset=UTF-8", Body: nil},
	}
	aor := crosstalk.MustParseAddress("alice@example.com")
	s := &Server{cfg: Defaults()}
	s.cfg.UserAgent = "Crosstalk test"
	for i, reg := range regs {
		reg.AOR, reg.Q = aor, 1000
		b := newBinding(s, aor, reg)
		for j, out := range outs {
			for _, display := range []string{"", `Bob "the" Builder`} {
				req, bound, err := b.newRequest(sipmsg.MESSAGE, out)
				if err != nil {
					t.Fatalf("%d/%d: %v", i, j, err)
				}
				if display != "" {
					req.From().DisplayName = display
					bound += 2*len(display) + len(` "" `)
				}
				if n := len(req.String()); bound < n {
					t.Errorf("%d/%d: bound %d below the written length %d:\n%s", i, j, bound, n, req.String())
				}
				if b.rendered.flowOK {
					continue
				}
				fresh := req.Clone()
				fresh.SetTransport("")
				fresh.SetDestination("")
				if req.Transport() != fresh.Transport() || req.Destination() != fresh.Destination() {
					t.Errorf("%d/%d: sent over %s to %s, sipgo says %s to %s", i, j,
						req.Transport(), req.Destination(), fresh.Transport(), fresh.Destination())
				}
			}
		}
	}
}
