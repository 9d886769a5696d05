package muc

import (
	"context"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Proxy is what relaying IQs between occupants needs of the hub.
type Proxy interface {
	RoomState(ctx context.Context, room crosstalk.Address) (crosstalk.Room, []crosstalk.Occupant, error)
	RouteQuery(ctx context.Context, q *crosstalk.Query) error
}

// ProxyIQ relays an IQ between two occupants of a room (XEP-0045 §17.4,
// e.g. a vCard or version request to room/nick, and its answer): the
// sender must be an occupant; the IQ reaches the target occupant's real
// address from the sender's room/nick, so no real address is revealed in
// either direction. A get or set that cannot be relayed is an error
// (not-acceptable when the sender is not joined, item-not-found for an
// unknown nick); a result or error that cannot is dropped, as RFC 6120
// §8.2.3 wants.
func ProxyIQ(ctx context.Context, rooms Proxy, from, to crosstalk.Address, st *xmppmap.Stanza) error {
	_, occupants, err := rooms.RoomState(ctx, to.Bare())
	if err != nil {
		return notJoined()
	}
	var sender, target *crosstalk.Occupant
	for i := range occupants {
		if occupants[i].RealAddress == from {
			sender = &occupants[i]
		}
		if occupants[i].Nick == to.Resource() {
			target = &occupants[i]
		}
	}
	switch {
	case sender == nil:
		return notJoined()
	case target == nil:
		return feature.ItemNotFound()
	}
	via, err := to.Bare().WithResource(sender.Nick)
	if err != nil {
		return err
	}
	out := *st
	out.SetAttr("from", via.String())
	out.SetAttr("to", target.RealAddress.String())
	q := &crosstalk.Query{ID: st.Attr("id"), From: via, To: target.RealAddress, Type: queryType(st.Attr("type")),
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: out.Bytes()}}
	if err := rooms.RouteQuery(ctx, q); err != nil {
		return feature.ServiceUnavailable()
	}
	return nil
}

func queryType(t string) crosstalk.QueryType {
	switch t {
	case "set":
		return crosstalk.QuerySet
	case "result":
		return crosstalk.QueryResult
	case "error":
		return crosstalk.QueryError
	default:
		return crosstalk.QueryGet
	}
}
