package xmpp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// component is a connected external component (XEP-0114): the endpoint the
// hub hands every event for its domain. Like a c2s session it has one
// reader (the connection's goroutine) and one writer goroutine draining a
// bounded mailbox (events from the hub) and a bounded reply queue (the
// reader's stanza errors); a component that does not keep up is
// disconnected.
type component struct {
	srv    *Server
	t      *transport
	domain string
	log    zerolog.Logger
	mbox   *crosstalk.Mailbox

	replies   chan []byte
	done      chan struct{}
	closeOnce sync.Once
	reason    error // set once, before done is closed
	writer    sync.WaitGroup
}

var _ crosstalk.Endpoint = (*component)(nil)

func newComponent(srv *Server, t *transport, domain string, log zerolog.Logger) *component {
	return &component{
		srv: srv, t: t, domain: domain, log: log,
		mbox:    crosstalk.NewMailbox(srv.cfg.MailboxEvents, srv.cfg.MailboxBytes),
		replies: make(chan []byte, replyQueue),
		done:    make(chan struct{}),
	}
}

// Protocol returns ProtocolXMPP.
func (c *component) Protocol() crosstalk.Protocol { return crosstalk.ProtocolXMPP }

// Deliver queues an event for the writer; it never blocks.
func (c *component) Deliver(ev crosstalk.Event) error {
	if d, ok := ev.(*crosstalk.Disconnect); ok {
		c.Close(d.Reason)
		return nil
	}
	return c.mbox.Put(ev)
}

// Close ends the component with a reason; the writer sends the stream
// error and the connection is closed. It never blocks.
func (c *component) Close(reason error) {
	c.closeOnce.Do(func() {
		c.reason = reason
		close(c.done)
		_ = c.t.conn.SetReadDeadline(time.Unix(1, 0)) // stop the reader
	})
}

// run serves the component until its stream ends, then unbinds its domain
// and answers what it never took.
func (c *component) run(ctx context.Context) {
	c.srv.comps.add(c)
	c.writer.Add(1)
	go c.writeLoop()
	err := c.readLoop(ctx)
	// The domain is free before the stream error goes out, so that a
	// component that reconnects as soon as it reads it is not refused.
	c.srv.hub.UnbindDomain(c.domain, c)
	c.Close(err)
	c.writer.Wait()
	c.srv.comps.remove(c)
	c.bounce(ctx, c.mbox.Close())
	c.log.Info().Err(err).Msg("component disconnected")
}

// readLoop reads stanzas until the stream ends; the error says why.
func (c *component) readLoop(ctx context.Context) error {
	for {
		c.t.trimRecord()
		c.t.wait()
		el, err := c.t.next()
		if err != nil {
			if c.isDone() {
				return c.reason
			}
			return err
		}
		if err := c.handle(ctx, el); err != nil {
			return err
		}
	}
}

func (c *component) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// writeLoop writes replies and hub events until the component is closed,
// then the stream error or end and nothing more.
func (c *component) writeLoop() {
	defer c.writer.Done()
	var buf bytes.Buffer
	var taken []crosstalk.Event
	for {
		select {
		case <-c.done:
			c.writeEnd()
			return
		case b := <-c.replies:
			if err := c.t.write(b); err != nil {
				c.Close(err)
			}
		case <-c.mbox.Ready():
			taken = c.mbox.Take(taken[:0])
			buf.Reset()
			for _, ev := range taken {
				c.render(&buf, ev)
			}
			clear(taken)
			if buf.Len() > 0 {
				if err := c.t.write(buf.Bytes()); err != nil {
					c.Close(err)
				}
			}
		}
	}
}

// writeEnd sends the stream error the close reason calls for, or a plain
// stream end.
func (c *component) writeEnd() {
	if errors.Is(c.reason, io.ErrUnexpectedEOF) || isWriteFailure(c.reason) {
		return
	}
	end := []byte("</stream:stream>")
	if cond := streamCondition(c.reason); cond != "" {
		end = streamErrorXML(cond)
	}
	_ = c.t.write(end)
}

// isWriteFailure reports a network error, after which nothing more can be
// written.
func isWriteFailure(err error) bool {
	var ne interface{ Timeout() bool }
	return err != nil && errors.As(err, &ne) && streamCondition(err) == ""
}

// render writes one hub event as a stanza of the component stream; its
// default namespace jabber:component:accept applies to the unqualified
// stanzas the server keeps.
func (c *component) render(b *bytes.Buffer, ev crosstalk.Event) {
	switch e := ev.(type) {
	case *crosstalk.Message:
		b.Write(xmppmap.FromMessage(e))
	case *crosstalk.Presence:
		b.Write(xmppmap.FromPresence(e, e.To))
	case *crosstalk.Query:
		if e.Native.Protocol == crosstalk.ProtocolXMPP {
			b.Write(e.Native.Payload)
		}
	}
}

// reply queues a stanza error for the component, waiting while the queue
// is full (which slows only this component's reader).
func (c *component) reply(b []byte) {
	select {
	case c.replies <- b:
	case <-c.done:
	}
}

// handle routes one stanza from the component. Errors end the stream.
func (c *component) handle(ctx context.Context, el element) error {
	if el.start.Name.Space != nsComponent && el.start.Name.Space != nsClient {
		return newStreamError(condUnsupportedStanza, "<"+el.start.Name.Local+"/> in "+el.start.Name.Space)
	}
	st, err := xmppmap.ParseStanza(componentStanza(el.raw))
	if err != nil {
		if errors.Is(err, xmppmap.ErrNotStanza) {
			return newStreamError(condUnsupportedStanza, err.Error())
		}
		return newStreamError(condNotWellFormed, err.Error())
	}
	from, to, err := xmppmap.Addresses(&st)
	switch {
	case err != nil && from.IsZero() && st.Attr("from") != "":
		return newStreamError(condInvalidFrom, "from is not a valid address")
	case from.IsZero():
		return newStreamError(condImproperAddressing, "a component's stanza needs a from")
	case from.Domain() != c.domain: // XEP-0114 §3, RFC 6120 §4.9.3.9
		return newStreamError(condInvalidFrom, "from must be at the component's domain")
	case err != nil || to.IsZero():
		if st.Attr("type") != "error" && st.Attr("type") != "result" {
			c.reply(stanzaErrorReply(&st, feature.BadRequest("a component's stanza needs a valid to")))
		}
		return nil
	}
	switch st.Name {
	case "message":
		c.onMessage(ctx, &st)
	case "presence":
		c.onPresence(ctx, &st)
	case "iq":
		c.onIQ(ctx, &st, to)
	}
	return nil
}

func (c *component) onMessage(ctx context.Context, st *xmppmap.Stanza) {
	m, err := xmppmap.ToMessage(st)
	if err == nil {
		err = c.srv.hub.RouteMessage(ctx, &m)
	}
	if err != nil && st.Attr("type") != "error" {
		c.log.Debug().Err(err).Str("to", st.Attr("to")).Msg("message from the component not delivered")
		e := stanzaError(err)
		if errors.Is(err, crosstalk.ErrForbidden) && !c.srv.hub.IsRoomService(m.To) { // XEP-0191 §3.5
			e = feature.ServiceUnavailable()
		}
		c.reply(stanzaErrorReply(st, e))
	}
}

func (c *component) onPresence(ctx context.Context, st *xmppmap.Stanza) {
	p, err := xmppmap.ToPresence(st)
	if err == nil {
		err = c.srv.hub.SetPresence(ctx, &p)
	}
	if err != nil && st.Attr("type") != "error" {
		c.log.Debug().Err(err).Str("to", st.Attr("to")).Msg("presence from the component not handled")
		c.reply(stanzaErrorReply(st, stanzaError(err)))
	}
}

// onIQ routes an IQ to the endpoint at a full address or to another
// domain's endpoint. The server's own services (disco, vCard, rosters of
// bare accounts) answer clients only: a request from a component to a bare
// local address gets service-unavailable.
func (c *component) onIQ(ctx context.Context, st *xmppmap.Stanza, to crosstalk.Address) {
	typ, id := st.Attr("type"), st.Attr("id")
	request := typ == "get" || typ == "set"
	if !request && typ != "result" && typ != "error" {
		c.reply(iqError(st, st.Attr("to"), feature.BadRequest("IQ type must be get, set, result or error")))
		return
	}
	if request && id == "" {
		c.reply(iqError(st, st.Attr("to"), feature.BadRequest("IQ without id")))
		return
	}
	if request && to.IsBare() && (c.srv.hub.IsLocal(to) || c.srv.hub.IsRoomService(to)) {
		c.reply(iqError(st, st.Attr("to"), feature.ServiceUnavailable()))
		return
	}
	from, _, _ := xmppmap.Addresses(st)
	q := &crosstalk.Query{ID: id, From: from, To: to, Type: queryType(typ),
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: st.Bytes()}}
	if err := c.srv.hub.RouteQuery(ctx, q); err != nil && request {
		e := stanzaError(err)
		if errors.Is(err, crosstalk.ErrNotFound) || errors.Is(err, crosstalk.ErrEndpointClosed) {
			e = feature.ServiceUnavailable() // RFC 6120 §8.5.3.1
		}
		c.reply(iqError(st, st.Attr("to"), e))
	}
}

// bounce answers the requests and messages a component never took, so that
// their senders are not left waiting: service-unavailable (RFC 6120
// §8.3.3.19), the condition of a service that is not available now.
func (c *component) bounce(ctx context.Context, left []crosstalk.Event) {
	for _, ev := range left {
		switch e := ev.(type) {
		case *crosstalk.Message:
			if e.Type == crosstalk.MessageError || e.Type == crosstalk.MessageGroupchat {
				continue
			}
			back := &crosstalk.Message{ID: e.ID, From: e.To, To: e.From, Type: crosstalk.MessageError,
				Error: &crosstalk.DeliveryError{Type: "cancel", Condition: "service-unavailable"}}
			if err := c.srv.hub.RouteMessage(ctx, back); err != nil {
				c.log.Debug().Err(err).Msg("bouncing an undelivered message failed")
			}
		case *crosstalk.Query:
			if (e.Type != crosstalk.QueryGet && e.Type != crosstalk.QuerySet) || e.Native.Protocol != crosstalk.ProtocolXMPP {
				continue
			}
			st, err := xmppmap.ParseStanza(e.Native.Payload)
			if err != nil {
				continue
			}
			back := &crosstalk.Query{ID: e.ID, From: e.To, To: e.From, Type: crosstalk.QueryError,
				Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: iqError(&st, e.To.String(), feature.ServiceUnavailable())}}
			if err := c.srv.hub.RouteQuery(ctx, back); err != nil {
				c.log.Debug().Err(err).Msg("bouncing an undelivered request failed")
			}
		}
	}
}
