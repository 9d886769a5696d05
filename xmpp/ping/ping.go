package ping

import (
	"context"

	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// NS is the XEP-0199 namespace.
const NS = "urn:xmpp:ping"

// Handle returns the ping registration.
func Handle() []feature.Registration {
	return []feature.Registration{{Space: NS, Local: "ping", Types: feature.Get, Target: feature.Server | feature.Own,
		Features: []string{NS},
		Handle:   func(context.Context, feature.IQ) ([]byte, error) { return nil, nil }}}
}
