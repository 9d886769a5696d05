package roster

import (
	"context"
	"errors"
	"strconv"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Handle returns the roster registration (jabber:iq:roster on the
// account's own address).
func Handle(hub *crosstalk.Hub) []feature.Registration {
	return []feature.Registration{{
		Space: xmppmap.NSRoster, Local: "query", Types: feature.Get | feature.Set, Target: feature.Own,
		Handle: func(ctx context.Context, iq feature.IQ) ([]byte, error) {
			if iq.Type == "get" {
				return get(ctx, hub, iq)
			}
			return set(ctx, hub, iq)
		},
	}}
}

func get(ctx context.Context, hub *crosstalk.Hub, iq feature.IQ) ([]byte, error) {
	owner := iq.From.Bare()
	r, err := hub.Roster(ctx, owner)
	if err != nil {
		return nil, err
	}
	iq.Session.Set("roster.requested", true)
	if ver := iq.Payload.Attr("ver"); ver != "" && ver == strconv.FormatInt(r.Version, 10) {
		return nil, nil // XEP-0237 §3: unchanged, an empty result
	}
	return xmppmap.RosterResult(r), nil
}

func set(ctx context.Context, hub *crosstalk.Hub, iq feature.IQ) ([]byte, error) {
	_, items, err := xmppmap.ParseRosterQuery(iq.Raw())
	if err != nil {
		return nil, feature.BadRequest(err.Error())
	}
	if len(items) != 1 { // RFC 6121 §2.3.3
		return nil, feature.BadRequest("a roster set carries exactly one item")
	}
	owner := iq.From.Bare()
	ch := items[0]
	if ch.Item.Contact.Bare() == owner {
		return nil, feature.NotAllowed("you are not in your own roster")
	}
	if ch.Remove {
		err := hub.RemoveRosterItem(ctx, owner, ch.Item.Contact)
		if errors.Is(err, crosstalk.ErrNotFound) {
			return nil, feature.ItemNotFound()
		}
		return nil, err
	}
	return nil, hub.SetRosterItem(ctx, owner, ch.Item)
}
