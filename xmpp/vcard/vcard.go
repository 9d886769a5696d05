package vcard

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// NS is the XEP-0054 namespace.
const NS = "vcard-temp"

// DefaultMaxSize is the default bound of a stored vCard, in bytes.
const DefaultMaxSize = 128 << 10

// Handle returns the get and set registrations; vCards larger than
// maxSize bytes are refused with <not-acceptable/>.
func Handle(store crosstalk.VCards, maxSize int) []feature.Registration {
	get := func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		owner := iq.To
		if owner.IsZero() {
			owner = iq.From.Bare()
		}
		v, err := store.GetVCard(ctx, owner)
		if errors.Is(err, crosstalk.ErrNotFound) {
			return []byte("<vCard xmlns='" + NS + "'/>"), nil
		} else if err != nil {
			return nil, fmt.Errorf("vcard: get %s: %w", owner, err)
		}
		return v, nil
	}
	set := func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		if !iq.To.IsZero() && iq.To != iq.From.Bare() {
			return nil, feature.Forbidden("only the owner sets a vCard")
		}
		v := iq.Raw()
		if len(v) > maxSize {
			return nil, &feature.Error{Type: "modify", Condition: "not-acceptable", Text: "vCard larger than " + strconv.Itoa(maxSize) + " bytes"}
		}
		if err := store.PutVCard(ctx, iq.From.Bare(), v); err != nil {
			return nil, fmt.Errorf("vcard: set %s: %w", iq.From.Bare(), err)
		}
		return nil, nil
	}
	return []feature.Registration{
		{Space: NS, Local: "vCard", Types: feature.Get, Target: feature.Own | feature.Account, Features: []string{NS}, Handle: get},
		{Space: NS, Local: "vCard", Types: feature.Set, Target: feature.Own | feature.Account, Handle: set},
	}
}
