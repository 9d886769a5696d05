package mam

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Namespaces.
const (
	NS    = "urn:xmpp:mam:2"
	nsRSM = "http://jabber.org/protocol/rsm"
)

// maxPage caps one page.
const maxPage = 100

type query struct {
	QueryID string `xml:"queryid,attr"`
	Fields  []struct {
		Var    string   `xml:"var,attr"`
		Values []string `xml:"value"`
	} `xml:"jabber:x:data x>field"`
	Set *struct {
		Max    *int    `xml:"max"`
		After  *string `xml:"after"`
		Before *string `xml:"before"`
	} `xml:"http://jabber.org/protocol/rsm set"`
}

// Archive answers archive queries: the hub, which first waits for the
// messages it routed to be written, and checks who may read a room's.
type Archive interface {
	QueryArchive(ctx context.Context, owner crosstalk.Address, q crosstalk.ArchiveQuery) (crosstalk.ArchivePage, error)
	QueryRoomArchive(ctx context.Context, room, asker crosstalk.Address, q crosstalk.ArchiveQuery) (crosstalk.ArchivePage, error)
}

// Handle returns the query registration (form on get, search on set).
func Handle(archive Archive) []feature.Registration {
	handle := func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		room := !iq.To.IsZero() && iq.To.Local() != "" && iq.To != iq.From.Bare()
		if iq.Type == "get" {
			return []byte("<query xmlns='" + NS + "'><x xmlns='jabber:x:data' type='form'>" +
				"<field var='FORM_TYPE' type='hidden'><value>" + NS + "</value></field>" +
				"<field var='with' type='jid-single'/><field var='start' type='text-single'/>" +
				"<field var='end' type='text-single'/></x></query>"), nil
		}
		if room {
			return search(ctx, iq, iq.To, func(aq crosstalk.ArchiveQuery) (crosstalk.ArchivePage, error) {
				return archive.QueryRoomArchive(ctx, iq.To, iq.From, aq)
			})
		}
		return search(ctx, iq, iq.From.Bare(), func(aq crosstalk.ArchiveQuery) (crosstalk.ArchivePage, error) {
			return archive.QueryArchive(ctx, iq.From.Bare(), aq)
		})
	}
	return []feature.Registration{
		{Space: NS, Local: "query", Types: feature.Get | feature.Set, Target: feature.Own, Features: []string{NS}, Handle: handle},
		{Space: NS, Local: "query", Types: feature.Get | feature.Set, Target: feature.Room, Handle: handle}, // XEP-0313 §6 (MUC)
	}
}

// search runs a query against one archive and sends the results; owner is
// the archive's address (the account, or the room), the results' sender.
func search(ctx context.Context, iq feature.IQ, owner crosstalk.Address, run func(crosstalk.ArchiveQuery) (crosstalk.ArchivePage, error)) ([]byte, error) {
	var q query
	if err := iq.Decode(&q); err != nil {
		return nil, err
	}
	aq, err := archiveQuery(&q)
	if err != nil {
		return nil, err
	}
	page, err := run(aq)
	if err != nil {
		if errors.Is(err, crosstalk.ErrNotFound) {
			return nil, feature.ItemNotFound() // an unknown RSM id
		}
		return nil, err
	}
	for i := range page.Messages {
		if err := iq.Session.Send(result(owner, iq.From, q.QueryID, &page.Messages[i])); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	b.WriteString("<fin xmlns='" + NS + "'")
	if page.Complete {
		b.WriteString(" complete='true'")
	}
	b.WriteString("><set xmlns='" + nsRSM + "'>")
	if n := len(page.Messages); n > 0 {
		b.WriteString("<first>" + xmppmap.Escape(page.Messages[0].ID) + "</first><last>" + xmppmap.Escape(page.Messages[n-1].ID) + "</last>")
	}
	b.WriteString("</set></fin>")
	return b.Bytes(), nil
}

func archiveQuery(q *query) (crosstalk.ArchiveQuery, error) {
	var aq crosstalk.ArchiveQuery
	for _, f := range q.Fields {
		if len(f.Values) == 0 {
			continue
		}
		v := f.Values[0]
		var err error
		switch f.Var {
		case "FORM_TYPE":
			if v != NS {
				return aq, feature.BadRequest("FORM_TYPE must be " + NS)
			}
		case "with":
			if aq.With, err = crosstalk.ParseAddress(v); err != nil {
				return aq, &feature.Error{Type: "modify", Condition: "jid-malformed"}
			}
		case "start":
			if aq.Start, err = time.Parse(time.RFC3339, v); err != nil {
				return aq, feature.BadRequest("start is not an XEP-0082 date-time")
			}
		case "end":
			if aq.End, err = time.Parse(time.RFC3339, v); err != nil {
				return aq, feature.BadRequest("end is not an XEP-0082 date-time")
			}
		default:
			return aq, feature.BadRequest("unknown field " + f.Var)
		}
	}
	aq.Max = 50
	if q.Set != nil {
		if q.Set.Max != nil {
			aq.Max = min(max(*q.Set.Max, 0), maxPage)
		}
		if q.Set.After != nil {
			aq.After = *q.Set.After
		}
		if q.Set.Before != nil { // an empty <before/> asks for the last page (XEP-0059 §2.5)
			aq.Before, aq.Last = *q.Set.Before, true
		}
	}
	if aq.Max == 0 {
		aq.Max = 1 // the store reads ≤ 0 as its default; a count-only query gets one
	}
	return aq, nil
}

// result renders one archived message as a MAM result.
func result(owner, to crosstalk.Address, queryID string, am *crosstalk.ArchivedMessage) []byte {
	var b bytes.Buffer
	b.WriteString("<message from='" + xmppmap.Escape(owner.String()) + "' to='" + xmppmap.Escape(to.String()) + "'>")
	b.WriteString("<result xmlns='" + NS + "'")
	if queryID != "" {
		b.WriteString(" queryid='" + xmppmap.Escape(queryID) + "'")
	}
	b.WriteString(" id='" + xmppmap.Escape(am.ID) + "'><forwarded xmlns='urn:xmpp:forward:0'>")
	b.WriteString("<delay xmlns='urn:xmpp:delay' stamp='" + am.Message.Time.UTC().Format(xmppmap.StampFormat) + "'/>")
	m := am.Message
	b.Write(xmppmap.Embed(xmppmap.FromMessage(&m)))
	b.WriteString("</forwarded></result></message>")
	return b.Bytes()
}

// Ends reads the id and time of the first and the last message of an
// archive (ok false for an empty one): the hub, from what it has written,
// without waiting for what it is still writing.
type Ends interface {
	ArchiveEnds(ctx context.Context, owner crosstalk.Address) (first, last crosstalk.ArchiveRef, ok bool, err error)
}

// Metadata renders the metadata of owner's archive (XEP-0313 §"Archive
// metadata"): <start/> and <end/> with the id and time of its first and
// last messages, or an empty <metadata/> when the archive is empty. Bind 2
// puts it in <bound/> (XEP-0386 §3.2). It is advisory: messages routed
// just before may not be written yet (Ends), and a client catches up with
// a query after the last id it knows. The <metadata/> query itself is
// part of 'urn:xmpp:mam:2#extended' (with before-id, after-id and flipped
// pages), which is not implemented, so it is neither handled nor
// advertised.
func Metadata(ctx context.Context, archive Ends, owner crosstalk.Address) ([]byte, error) {
	first, last, ok, err := archive.ArchiveEnds(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("archive metadata: %w", err)
	}
	if !ok {
		return []byte("<metadata xmlns='" + NS + "'/>"), nil
	}
	// One buffer, sized for both marks: a Bind 2 login renders this.
	b := make([]byte, 0, 192)
	b = append(b, "<metadata xmlns='"+NS+"'>"...)
	for _, m := range [...]struct {
		name string
		ref  crosstalk.ArchiveRef
	}{{"start", first}, {"end", last}} {
		b = append(b, '<')
		b = append(b, m.name...)
		b = append(b, " id='"...)
		b = append(b, xmppmap.Escape(m.ref.ID)...)
		b = append(b, "' timestamp='"...)
		b = m.ref.Time.UTC().AppendFormat(b, xmppmap.StampFormat)
		b = append(b, "'/>"...)
	}
	return append(b, "</metadata>"...), nil
}
