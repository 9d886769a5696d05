package xtime

import (
	"context"
	"time"

	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// NS is the XEP-0202 namespace.
const NS = "urn:xmpp:time"

// Handle returns the time registration; now is the clock.
func Handle(now func() time.Time) []feature.Registration {
	return []feature.Registration{{Space: NS, Local: "time", Types: feature.Get, Target: feature.Server,
		Features: []string{NS},
		Handle: func(context.Context, feature.IQ) ([]byte, error) {
			t := now()
			return []byte("<time xmlns='" + NS + "'><tzo>" + t.Format("-07:00") + "</tzo><utc>" +
				t.UTC().Format("2006-01-02T15:04:05.000Z") + "</utc></time>"), nil
		}}}
}
