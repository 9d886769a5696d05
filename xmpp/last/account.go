package last

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Store is what last activity of accounts keeps and reads: the activity,
// and rosters to answer only contacts that see the account's presence.
type Store interface {
	crosstalk.LastActivities
	GetRosterItem(ctx context.Context, owner, contact crosstalk.Address) (crosstalk.RosterItem, error)
}

// Presence tells whether an account is available (crosstalk.Hub).
type Presence interface {
	// PresenceOf returns the available presences of an account's endpoints.
	PresenceOf(bare crosstalk.Address) []*crosstalk.Presence
}

// statusKey keeps the status of a session's last unavailable presence.
const statusKey = "last.status"

// HandleAccounts returns the registration for IQs to an account's bare
// address (XEP-0012 §4): 0 seconds while the account has an available
// resource, otherwise the seconds since its last session ended with the
// status of its last unavailable presence. Only the account itself and
// contacts with a from or both subscription are answered; others get
// <forbidden/>.
func HandleAccounts(store Store, presence Presence, now func() time.Time) []feature.Registration {
	return []feature.Registration{{Space: NS, Local: "query", Types: feature.Get, Target: feature.Account, Features: []string{NS},
		Handle: func(ctx context.Context, iq feature.IQ) ([]byte, error) {
			if iq.To != iq.From.Bare() {
				it, err := store.GetRosterItem(ctx, iq.To, iq.From.Bare())
				if err != nil || !it.SeesOwner() {
					return nil, feature.Forbidden("")
				}
			}
			if len(presence.PresenceOf(iq.To)) > 0 {
				return []byte("<query xmlns='" + NS + "' seconds='0'/>"), nil
			}
			la, err := store.GetLastActivity(ctx, iq.To)
			if errors.Is(err, crosstalk.ErrNotFound) {
				return nil, feature.ItemNotFound()
			} else if err != nil {
				return nil, fmt.Errorf("last: activity of %s: %w", iq.To, err)
			}
			secs := max(int64(now().Sub(la.At)/time.Second), 0)
			return []byte("<query xmlns='" + NS + "' seconds='" + strconv.FormatInt(secs, 10) + "'>" +
				xmppmap.Escape(la.Status) + "</query>"), nil
		}}}
}

// Unavailable notes the status of an unavailable broadcast presence sent
// by a session's client.
func Unavailable(sess feature.Session, status string) { sess.Set(statusKey, status) }

// Ended records that a session ended at at, with the status of its last
// unavailable presence.
func Ended(ctx context.Context, store crosstalk.LastActivities, sess feature.Session, at time.Time) error {
	status, _ := sess.Get(statusKey).(string)
	if err := store.PutLastActivity(ctx, sess.Addr().Bare(), crosstalk.LastActivity{At: at, Status: status}); err != nil {
		return fmt.Errorf("last: record %s: %w", sess.Addr(), err)
	}
	return nil
}
