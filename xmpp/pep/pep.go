package pep

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// Namespaces of XEP-0060 used by PEP.
const (
	NS      = "http://jabber.org/protocol/pubsub"
	NSOwner = NS + "#owner"
	NSEvent = NS + "#event"
	NSError = NS + "#errors"
	// NSPublishOptions is the FORM_TYPE of XEP-0223 publish options.
	NSPublishOptions = NS + "#publish-options"
)

// Access models.
const (
	AccessPresence  = "presence"
	AccessOpen      = "open"
	AccessWhitelist = "whitelist"
)

// Store is what PEP keeps and reads: nodes and items, and rosters to find
// who may see an account's items.
type Store interface {
	crosstalk.PEP
	GetRoster(ctx context.Context, owner crosstalk.Address) (crosstalk.Roster, error)
	GetRosterItem(ctx context.Context, owner, contact crosstalk.Address) (crosstalk.RosterItem, error)
}

// Peer is a live session notifications may go to.
type Peer interface {
	// Addr is the session's full address.
	Addr() crosstalk.Address
	// Get returns per-session feature state (the +notify set PEP keeps).
	Get(key string) any
	// TrySend queues a stanza without blocking; it may fail.
	TrySend(stanza []byte) error
}

// Peers finds the live local sessions of an account.
type Peers interface {
	// Peers returns the live sessions of a bare address.
	Peers(bare crosstalk.Address) []Peer
}

// Limits bound what an account may keep.
type Limits struct {
	// MaxNodes is the number of nodes per account. Default 64.
	MaxNodes int
	// MaxItems is the largest pubsub#max_items a node may have ("max"
	// means this). Default 64.
	MaxItems int
	// MaxPayload is the largest item payload in bytes. Default 128 KiB.
	MaxPayload int
	// MaxCaps is the number of verification strings cached. Default 4096.
	MaxCaps int
}

// DefaultLimits returns the defaults.
func DefaultLimits() Limits {
	return Limits{MaxNodes: 64, MaxItems: 64, MaxPayload: 128 << 10, MaxCaps: 4096}
}

// Service is the PEP service of every local account. It is safe for
// concurrent use.
type Service struct {
	store  Store
	peers  Peers
	now    func() time.Time
	log    zerolog.Logger
	limits Limits
	seq    atomic.Uint64

	mu   sync.Mutex
	caps map[string]map[string]bool // verification string → +notify nodes

	// bookmarkMu serialises keeping the two bookmark nodes in step
	// (bookmarks.go); it is never held with mu.
	bookmarkMu sync.Mutex
}

// New returns a service.
func New(store Store, peers Peers, now func() time.Time, log zerolog.Logger, limits Limits) *Service {
	return &Service{store: store, peers: peers, now: now, log: log.With().Str("component", "pep").Logger(),
		limits: limits, caps: make(map[string]map[string]bool)}
}

// Handle returns the pubsub and pubsub#owner registrations, served on the
// account (to its bare address, or with no to for one's own account).
func (s *Service) Handle() []feature.Registration {
	return []feature.Registration{
		{Space: NS, Local: "pubsub", Types: feature.Get | feature.Set, Target: feature.Own | feature.Account, Handle: s.pubsub,
			Features: []string{
				NS + "#access-open", NS + "#access-presence", NS + "#access-whitelist", NS + "#auto-create",
				NS + "#filtered-notifications", NS + "#item-ids", NS + "#last-published", NS + "#persistent-items",
				NS + "#publish", NSPublishOptions, NS + "#retract-items", NS + "#retrieve-items",
				FeatureBookmarksCompatPEP, // XEP-0402 §5.3 (bookmarks.go)
			}},
		{Space: NSOwner, Local: "pubsub", Types: feature.Get | feature.Set, Target: feature.Own, Handle: s.owner,
			Features: []string{NS + "#config-node", NS + "#delete-nodes"}},
	}
}

// pubsubError is a stanza error with a pubsub#errors condition.
func pubsubError(typ, cond, app string) *feature.Error {
	e := &feature.Error{Type: typ, Condition: cond}
	if app != "" {
		e.App = "<" + app + " xmlns='" + NSError + "'/>"
	}
	return e
}

// preconditionNotMet is XEP-0223 §7's error.
func preconditionNotMet(text string) *feature.Error {
	e := pubsubError("cancel", "conflict", "precondition-not-met")
	e.Text = text
	return e
}

// nextID returns a fresh stanza or item id.
func (s *Service) nextID(prefix string) string {
	return prefix + strconv.FormatInt(s.now().UnixNano(), 36) + "-" + strconv.FormatUint(s.seq.Add(1), 36)
}

// mayRead reports whether who may retrieve items of a node of owner.
func (s *Service) mayRead(ctx context.Context, n crosstalk.PEPNode, who crosstalk.Address) error {
	if who == n.Owner {
		return nil
	}
	switch n.Access {
	case AccessOpen:
		return nil
	case AccessPresence:
		it, err := s.store.GetRosterItem(ctx, n.Owner, who)
		if err == nil && it.SeesOwner() {
			return nil
		}
		return pubsubError("auth", "not-authorized", "presence-subscription-required")
	default:
		return pubsubError("cancel", "not-allowed", "closed-node")
	}
}

// wrapStore wraps a store error with what PEP was doing.
func wrapStore(what string, err error) error {
	return fmt.Errorf("pep: %s: %w", what, err)
}
