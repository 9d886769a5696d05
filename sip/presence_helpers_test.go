package sip

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// watcherUA is a sipgo UA on loopback that subscribes and answers every
// NOTIFY with 200, recording it.
type watcherUA struct {
	*testUA
	notifies chan *sipmsg.Request
}

func newWatcher(t *testing.T, user string) *watcherUA {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	w := &watcherUA{
		testUA:   &testUA{t: t, user: user, ua: ua, received: make(chan *sipmsg.Request, 64), status: 200},
		notifies: make(chan *sipmsg.Request, 256),
	}
	srv.OnRequest(sipmsg.NOTIFY, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		select {
		case w.notifies <- req:
		default:
		}
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeUDP(pc) }()
	w.port = pc.LocalAddr().(*net.UDPAddr).Port
	w.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(w.port))
	if err != nil {
		t.Fatal(err)
	}
	w.contact = sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: w.port}
	t.Cleanup(func() { _ = pc.Close(); _ = ua.Close() })
	return w
}

// subscribe sends an initial SUBSCRIBE for event to user@localhost.
func (w *watcherUA) subscribe(e *testEnv, user, event string, expires int, hdrs ...sipmsg.Header) *sipmsg.Response {
	w.t.Helper()
	req := w.request(sipmsg.SUBSCRIBE, sipmsg.Uri{Scheme: "sip", User: user, Host: "localhost"}, w.server(e))
	req.AppendHeader(&sipmsg.ContactHeader{Address: w.contact})
	req.AppendHeader(sipmsg.NewHeader("Event", event))
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(expires)))
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	return w.doAuth(req, w.password())
}

// refresh sends a SUBSCRIBE in the dialog of the 200 res.
func (w *watcherUA) refresh(e *testEnv, res *sipmsg.Response, event string, expires int, cseq uint32) *sipmsg.Response {
	w.t.Helper()
	req := sipmsg.NewRequest(sipmsg.SUBSCRIBE, res.Contact().Address)
	for _, name := range []string{"From", "To", "Call-ID"} {
		req.AppendHeader(sipmsg.NewHeader(name, res.GetHeader(name).Value()))
	}
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: cseq, MethodName: sipmsg.SUBSCRIBE})
	req.AppendHeader(&sipmsg.ContactHeader{Address: w.contact})
	req.AppendHeader(sipmsg.NewHeader("Event", event))
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetDestination(e.udp)
	return w.doAuth(req, w.password())
}

// publish sends a PUBLISH with a PIDF body (none when body is "").
func (w *watcherUA) publish(e *testEnv, body, ifMatch string, expires int) *sipmsg.Response {
	w.t.Helper()
	req := w.request(sipmsg.PUBLISH, w.aor(), e.udp)
	req.AppendHeader(sipmsg.NewHeader("Event", "presence"))
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(expires)))
	if ifMatch != "" {
		req.AppendHeader(sipmsg.NewHeader("SIP-If-Match", ifMatch))
	}
	if body != "" {
		ct := sipmsg.ContentTypeHeader("application/pidf+xml")
		req.AppendHeader(&ct)
		req.SetBody([]byte(body))
	}
	return w.doAuth(req, w.password())
}

// notifyWith waits for a NOTIFY whose state and body contain the strings.
func (w *watcherUA) notifyWith(d time.Duration, state string, body ...string) *sipmsg.Request {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case r := <-w.notifies:
			if !strings.HasPrefix(headerValue(r, "Subscription-State"), state) {
				continue
			}
			ok := true
			for _, b := range body {
				ok = ok && strings.Contains(string(r.Body()), b)
			}
			if ok {
				return r
			}
		case <-time.After(time.Until(deadline)):
		}
	}
	w.t.Fatalf("%s: no NOTIFY %q with %q in %s", w.user, state, body, d)
	return nil
}

func (w *watcherUA) noNotify(d time.Duration) {
	w.t.Helper()
	select {
	case r := <-w.notifies:
		w.t.Fatalf("%s: unexpected NOTIFY %s\n%s", w.user, headerValue(r, "Subscription-State"), r.Body())
	case <-time.After(d):
	}
}

// befriend makes a and b see each other (subscription both).
func befriend(t *testing.T, e *testEnv, a, b string) {
	t.Helper()
	ctx := context.Background()
	A, B := crosstalk.MustParseAddress(a+"@localhost"), crosstalk.MustParseAddress(b+"@localhost")
	for _, pr := range []*crosstalk.Presence{
		{From: A, To: B, Type: crosstalk.PresenceSubscribe}, {From: B, To: A, Type: crosstalk.PresenceSubscribed},
		{From: B, To: A, Type: crosstalk.PresenceSubscribe}, {From: A, To: B, Type: crosstalk.PresenceSubscribed},
	} {
		if err := e.hub.SetPresence(ctx, pr); err != nil {
			t.Fatal(err)
		}
	}
}

func pidf(user, basic, activity, note string) string {
	s := `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:` + user + `@localhost">
 <tuple id="t1"><status><basic>` + basic + `</basic></status><note>` + note + `</note></tuple>`
	if activity != "" {
		s += `<dm:person id="p1"><rpid:activities><rpid:` + activity + `/></rpid:activities></dm:person>`
	}
	return s + "</presence>"
}

// presenceTweak disables the NOTIFY rate limit and allows short expiries.
func presenceTweak(c *Config) {
	c.Presence.MinNotifyInterval = -1
	c.Presence.MinExpires = time.Second
}

// hv returns a header's value of any message, or "".
func hv(m interface{ GetHeader(string) sipmsg.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
