package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// subKind is the event package a subscription is for.
type subKind uint8

const (
	kindPresence subKind = iota // RFC 3856
	kindWinfo                   // RFC 3857, presence.winfo
	kindList                    // RFC 4662, presence of a resource list
)

// subState is a subscription's state (RFC 6665 §4.1.3).
type subState uint8

const (
	statePending subState = iota
	stateActive
	stateTerminated
)

func (s subState) String() string {
	switch s {
	case statePending:
		return "pending"
	case stateActive:
		return "active"
	}
	return "terminated"
}

// maxFlushRounds bounds the NOTIFYs one flush sends back to back before it
// yields to a timer.
const maxFlushRounds = 8

// subscription is one subscription dialog (RFC 6665 §4.2) in which we are
// the notifier. NOTIFYs are sent by at most one goroutine at a time
// (sending); changes in between mark it dirty and are coalesced, and the
// rate limit of RFC 3856 §6.6 holds them back until MinNotifyInterval has
// passed since the last one.
type subscription struct {
	p    *presenceServer
	kind subKind
	// key identifies the dialog: Call-ID, our tag, the watcher's tag.
	key     string
	eventID string // the Event header's id parameter, echoed
	// watcher is the authenticated subscriber; presentity the account
	// watched (for a resource list, the list's owner).
	watcher, presentity crosstalk.Address
	// dialog state for our NOTIFYs.
	callID, localTag, remoteTag string
	localURI, remoteURI         sipmsg.Uri
	target                      sipmsg.Uri
	routes                      []sipmsg.Uri
	transport, dest             string
	contact                     sipmsg.Uri

	mu        sync.Mutex
	cseq      uint32
	state     subState
	reason    string
	expires   time.Time
	expiry    *time.Timer
	delay     *time.Timer
	lastSent  time.Time
	sending   bool
	dirty     bool
	urgent    bool
	finalSent bool
	// ready is set once the 200 to the SUBSCRIBE is sent: no NOTIFY
	// goes out before it.
	ready   bool
	version int
	// authorised is set once the subscription has been active.
	authorised bool
	// resource list state (kindList): the contacts and those changed
	// since the last NOTIFY; full asks for a full-state NOTIFY.
	contacts []crosstalk.Address
	pending  map[crosstalk.Address]struct{}
	full     bool
}

func (sub *subscription) listContacts() []crosstalk.Address {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return append([]crosstalk.Address(nil), sub.contacts...)
}

// start allows NOTIFYs once the SUBSCRIBE has been answered and sends the
// first one at once (RFC 6665 §4.2.1.2).
func (sub *subscription) start() {
	sub.mu.Lock()
	sub.ready = true
	sub.mu.Unlock()
	sub.changed(crosstalk.Address{}, true)
}

// active reports whether the subscription shows presence now.
func (sub *subscription) active() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.state == stateActive
}

// setExpiry (re)arms the expiry timer.
func (sub *subscription) setExpiry(d time.Duration) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.expires = sub.p.s.now().Add(d)
	if sub.expiry != nil {
		sub.expiry.Stop()
	}
	sub.expiry = time.AfterFunc(d, func() { sub.terminate("timeout") })
}

// setState moves the state; a change is notified at once.
func (sub *subscription) setState(st subState, reason string) {
	sub.mu.Lock()
	if sub.state == st || sub.state == stateTerminated {
		sub.mu.Unlock()
		return
	}
	sub.state, sub.reason = st, reason
	if st == stateActive {
		sub.full = true
		sub.authorised = true
	}
	sub.mu.Unlock()
	sub.changed(crosstalk.Address{}, true)
}

// terminate ends the subscription with a final NOTIFY carrying reason.
func (sub *subscription) terminate(reason string) {
	sub.mu.Lock()
	if sub.state == stateTerminated {
		sub.mu.Unlock()
		return
	}
	sub.state, sub.reason = stateTerminated, reason
	if sub.expiry != nil {
		sub.expiry.Stop()
	}
	sub.mu.Unlock()
	sub.changed(crosstalk.Address{}, true)
}

// changed records a change (of contact, for a resource list, or of the
// whole view) and schedules a NOTIFY; urgent ones skip the rate limit.
func (sub *subscription) changed(contact crosstalk.Address, urgent bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.finalSent {
		return
	}
	if !contact.IsZero() && sub.kind == kindList {
		if sub.pending == nil {
			sub.pending = make(map[crosstalk.Address]struct{})
		}
		sub.pending[contact] = struct{}{}
	}
	sub.dirty = true
	sub.urgent = sub.urgent || urgent
	if sub.sending || !sub.ready {
		return
	}
	if wait := sub.waitLocked(); wait > 0 {
		if sub.delay == nil {
			sub.delay = time.AfterFunc(wait, sub.fire)
		}
		return
	}
	sub.sending = true
	go sub.flush()
}

// waitLocked is how long the rate limit holds the next NOTIFY back.
func (sub *subscription) waitLocked() time.Duration {
	if sub.urgent || sub.lastSent.IsZero() || sub.p.cfg.MinNotifyInterval <= 0 {
		return 0
	}
	return time.Until(sub.lastSent.Add(sub.p.cfg.MinNotifyInterval))
}

// fire runs when the rate-limit delay ends.
func (sub *subscription) fire() {
	sub.mu.Lock()
	sub.delay = nil
	if sub.sending || !sub.dirty || sub.finalSent {
		sub.mu.Unlock()
		return
	}
	sub.sending = true
	sub.mu.Unlock()
	sub.flush()
}

// flush sends NOTIFYs while the subscription is dirty and the rate limit
// allows, at most maxFlushRounds in a row.
func (sub *subscription) flush() {
	for range maxFlushRounds {
		sub.mu.Lock()
		if !sub.dirty || sub.finalSent {
			sub.sending = false
			sub.mu.Unlock()
			return
		}
		if wait := sub.waitLocked(); wait > 0 {
			sub.sending = false
			if sub.delay == nil {
				sub.delay = time.AfterFunc(wait, sub.fire)
			}
			sub.mu.Unlock()
			return
		}
		sub.dirty, sub.urgent = false, false
		sub.cseq++
		n := notifyState{cseq: sub.cseq, state: sub.state, reason: sub.reason, expires: sub.expires, version: sub.version, authorised: sub.authorised}
		if sub.kind == kindList {
			n.full = sub.full
			n.changed = sub.pending
			n.contacts = sub.contacts
			sub.pending, sub.full = nil, false
		}
		sub.version++
		if n.state == stateTerminated {
			sub.finalSent = true
		}
		sub.lastSent = time.Now()
		sub.mu.Unlock()
		if n.state == stateTerminated {
			// Out of the table before the final NOTIFY leaves: a refresh the
			// watcher sends on seeing it must find no subscription (481).
			sub.p.remove(sub)
		}
		err := sub.notify(n)
		if err != nil {
			sub.p.s.log.Info().Err(err).Str("aor", sub.presentity.String()).Str("watcher", sub.watcher.String()).
				Str("call_id", sub.callID).Msg("NOTIFY failed; subscription removed")
			sub.mu.Lock()
			sub.finalSent = true
			sub.state = stateTerminated
			sub.mu.Unlock()
		}
		if n.state == stateTerminated || errors.Is(err, errNotifyFailed) {
			sub.stopTimers()
			sub.p.remove(sub)
		}
	}
	sub.mu.Lock()
	sub.sending = false
	if sub.dirty && !sub.finalSent && sub.delay == nil {
		sub.delay = time.AfterFunc(10*time.Millisecond, sub.fire)
	}
	sub.mu.Unlock()
}

func (sub *subscription) stopTimers() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.expiry != nil {
		sub.expiry.Stop()
	}
	if sub.delay != nil {
		sub.delay.Stop()
		sub.delay = nil
	}
	sub.finalSent = true
}

// notifyState is what one NOTIFY says, taken under the lock.
type notifyState struct {
	cseq    uint32
	state   subState
	reason  string
	expires time.Time
	version int
	// authorised: the watcher may see the presentity (a final NOTIFY of
	// an expired or fetched subscription still carries the state).
	authorised bool
	full       bool
	changed    map[crosstalk.Address]struct{}
	contacts   []crosstalk.Address
}

// errNotifyFailed reports a NOTIFY that was not answered with 2xx: the
// subscription is gone on the watcher's side (RFC 6665 §4.2.2).
var errNotifyFailed = errors.New("NOTIFY failed")

// subscriptionState renders the Subscription-State header.
func (n notifyState) subscriptionState(now time.Time) string {
	if n.state == stateTerminated {
		if n.reason != "" {
			return "terminated;reason=" + n.reason
		}
		return "terminated"
	}
	left := int(n.expires.Sub(now).Round(time.Second) / time.Second)
	if left < 0 {
		left = 0
	}
	return n.state.String() + ";expires=" + strconv.Itoa(left)
}

// notify builds and sends one NOTIFY in the dialog.
func (sub *subscription) notify(n notifyState) error {
	ctx, cancel := context.WithTimeout(context.Background(), sub.p.cfg.NotifyTimeout)
	defer cancel()
	go func() {
		select {
		case <-sub.p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	select {
	case sub.p.slots <- struct{}{}:
		defer func() { <-sub.p.slots }()
	case <-ctx.Done():
		return fmt.Errorf("NOTIFY: %w: %w", errNotifyFailed, ctx.Err())
	}
	ct, body, err := sub.body(ctx, n)
	if err != nil {
		return fmt.Errorf("NOTIFY body: %w: %w", errNotifyFailed, err)
	}
	req := sub.newNotify(n, ct, body)
	tx, err := sub.p.s.startRequest(ctx, req, 0)
	if err != nil {
		return fmt.Errorf("NOTIFY to %s: %w: %w", req.Recipient.String(), errNotifyFailed, err)
	}
	defer tx.Terminate()
	res, err := finalResponse(ctx, tx)
	if err != nil {
		return fmt.Errorf("NOTIFY to %s: %w: %w", req.Recipient.String(), errNotifyFailed, err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("NOTIFY to %s: %w: %d", req.Recipient.String(), errNotifyFailed, res.StatusCode)
	}
	return nil
}

// newNotify builds the NOTIFY request of the dialog (RFC 6665 §4.2.2).
func (sub *subscription) newNotify(n notifyState, contentType string, body []byte) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.NOTIFY, sub.target)
	from := &sipmsg.FromHeader{Address: sub.localURI, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sub.localTag)
	req.AppendHeader(from)
	to := &sipmsg.ToHeader{Address: sub.remoteURI, Params: sipmsg.NewParams()}
	to.Params.Add("tag", sub.remoteTag)
	req.AppendHeader(to)
	cid := sipmsg.CallIDHeader(sub.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: n.cseq, MethodName: sipmsg.NOTIFY})
	mf := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range sub.routes {
		req.AppendHeader(&sipmsg.RouteHeader{Address: r})
	}
	req.AppendHeader(&sipmsg.ContactHeader{Address: sub.contact})
	req.AppendHeader(sipmsg.NewHeader("Event", sub.eventHeader()))
	req.AppendHeader(sipmsg.NewHeader("Subscription-State", n.subscriptionState(sub.p.s.now())))
	req.AppendHeader(sipmsg.NewHeader("User-Agent", sub.p.s.cfg.UserAgent))
	if sub.kind == kindList {
		req.AppendHeader(sipmsg.NewHeader("Require", "eventlist"))
	}
	if len(body) > 0 {
		ct := sipmsg.ContentTypeHeader(contentType)
		req.AppendHeader(&ct)
	}
	req.SetBody(body)
	if sub.dest != "" {
		req.SetTransport(sub.transport)
		req.SetDestination(sub.dest)
	}
	return req
}

func (sub *subscription) eventHeader() string {
	ev := "presence"
	if sub.kind == kindWinfo {
		ev = "presence.winfo"
	}
	if sub.eventID != "" {
		ev += ";id=" + sub.eventID
	}
	return ev
}

// body renders the NOTIFY body for the subscription's package; pending and
// terminated presence subscriptions carry none (RFC 3856 §6.6.2).
func (sub *subscription) body(ctx context.Context, n notifyState) (string, []byte, error) {
	if n.state != stateActive && !(n.state == stateTerminated && n.reason == "timeout" && n.authorised) {
		return "", nil, nil
	}
	switch sub.kind {
	case kindWinfo:
		return sub.p.winfoBody(ctx, sub, n)
	case kindList:
		return sub.p.listBody(ctx, sub, n)
	}
	agg := sub.p.s.hub.Aggregate(sub.presentity)
	body, err := renderPresence(sub.presentity, &agg)
	return pidfContentType, body, err
}

func ignoreNotFound(err error) error {
	if errors.Is(err, crosstalk.ErrNotFound) || errors.Is(err, crosstalk.ErrNoSuchAccount) {
		return nil
	}
	return err
}
