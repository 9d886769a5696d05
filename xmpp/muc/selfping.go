package muc

import (
	"context"
	"errors"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// nsPing is the XEP-0199 namespace.
const nsPing = "urn:xmpp:ping"

// notJoined is the XEP-0410 §3 answer to a client that is no longer an
// occupant: it should join again.
func notJoined() *feature.Error {
	return &feature.Error{Type: "cancel", Condition: "not-acceptable", Text: "not an occupant of this room"}
}

// selfPing answers a ping to room@service/nick (XEP-0410 MUC self-ping):
// the room answers for its occupants while the sender is joined, so a
// client checks its own membership without a round trip to itself;
// not-acceptable when the sender is not joined, item-not-found for an
// unknown nickname.
func selfPing(rooms Rooms) feature.HandlerFunc {
	return func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		_, occupants, err := rooms.RoomState(ctx, iq.To.Bare())
		if err != nil {
			if errors.Is(err, crosstalk.ErrNotFound) {
				return nil, notJoined()
			}
			return nil, err
		}
		joined, target := false, false
		for _, o := range occupants {
			joined = joined || o.RealAddress == iq.From
			target = target || o.Nick == iq.To.Resource()
		}
		switch {
		case !joined:
			return nil, notJoined()
		case !target:
			return nil, feature.ItemNotFound()
		}
		return nil, nil
	}
}
