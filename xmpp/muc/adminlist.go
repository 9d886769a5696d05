package muc

import (
	"bytes"
	"context"
	"sort"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// adminList answers a muc#admin get (XEP-0045 §9.5, §9.8, §10.5, §10.8,
// §8.5): the addresses with one affiliation (admins and owners may ask),
// or the occupants with one role (moderators may ask).
func adminList(rooms Rooms) feature.HandlerFunc {
	return func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		var q adminQuery
		if err := iq.Decode(&q); err != nil {
			return nil, err
		}
		if len(q.Items) != 1 || (q.Items[0].Affiliation == "") == (q.Items[0].Role == "") {
			return nil, feature.BadRequest("ask for one affiliation or one role")
		}
		r, occupants, err := rooms.RoomState(ctx, iq.To)
		if err != nil {
			return nil, err
		}
		it := q.Items[0]
		var b bytes.Buffer
		b.WriteString("<query xmlns='" + NSAdmin + "'>")
		if it.Affiliation != "" {
			want := crosstalk.ParseAffiliation(it.Affiliation)
			if want == crosstalk.AffiliationNone {
				return nil, feature.BadRequest("no list of affiliation " + it.Affiliation)
			}
			if r.Affiliations[iq.From.Bare()] < crosstalk.AffiliationAdmin {
				return nil, feature.Forbidden("admins and owners see affiliation lists")
			}
			var list []string
			for a, aff := range r.Affiliations {
				if aff == want {
					list = append(list, a.String())
				}
			}
			sort.Strings(list)
			for _, a := range list {
				b.WriteString("<item affiliation='" + want.String() + "' jid='" + xmppmap.Escape(a) + "'/>")
			}
		} else {
			want := parseRole(it.Role)
			if want == crosstalk.RoleNone {
				return nil, feature.BadRequest("no list of role " + it.Role)
			}
			if !isModerator(occupants, iq.From) {
				return nil, feature.Forbidden("moderators see role lists")
			}
			for _, o := range occupants {
				if o.Role == want {
					b.WriteString("<item affiliation='" + o.Affiliation.String() + "' role='" + o.Role.String() +
						"' nick='" + xmppmap.Escape(o.Nick) + "' jid='" + xmppmap.Escape(o.RealAddress.String()) + "'/>")
				}
			}
		}
		b.WriteString("</query>")
		return b.Bytes(), nil
	}
}

// isModerator reports whether the full address is a moderator present.
func isModerator(occupants []crosstalk.Occupant, real crosstalk.Address) bool {
	for _, o := range occupants {
		if o.RealAddress == real {
			return o.Role == crosstalk.RoleModerator
		}
	}
	return false
}

// realOf returns the bare real address of the occupant with a nickname,
// for affiliation changes by nickname (XEP-0045 §9.1).
func realOf(ctx context.Context, rooms Rooms, room crosstalk.Address, nick string) (crosstalk.Address, error) {
	_, occupants, err := rooms.RoomState(ctx, room)
	if err != nil {
		return crosstalk.Address{}, err
	}
	for _, o := range occupants {
		if o.Nick == nick {
			return o.RealAddress.Bare(), nil
		}
	}
	return crosstalk.Address{}, &feature.Error{Type: "cancel", Condition: "item-not-found", Text: "no occupant " + nick}
}
