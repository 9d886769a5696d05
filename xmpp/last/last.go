package last

import (
	"context"
	"strconv"
	"time"

	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// NS is the XEP-0012 namespace.
const NS = "jabber:iq:last"

// Handle returns the registration; started is when the server started.
func Handle(started time.Time, now func() time.Time) []feature.Registration {
	return []feature.Registration{{Space: NS, Local: "query", Types: feature.Get, Target: feature.Server, Features: []string{NS},
		Handle: func(context.Context, feature.IQ) ([]byte, error) {
			secs := int64(now().Sub(started) / time.Second)
			return []byte("<query xmlns='" + NS + "' seconds='" + strconv.FormatInt(secs, 10) + "'/>"), nil
		}}}
}
