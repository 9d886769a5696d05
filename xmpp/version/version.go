package version

import (
	"context"
	"runtime"

	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// NS is the XEP-0092 namespace.
const NS = "jabber:iq:version"

// Handle returns the version registration answering name and version.
func Handle(name, version string) []feature.Registration {
	if version == "" {
		version = "dev"
	}
	answer := []byte("<query xmlns='" + NS + "'><name>" + xmppmap.Escape(name) + "</name><version>" +
		xmppmap.Escape(version) + "</version><os>" + runtime.GOOS + "</os></query>")
	return []feature.Registration{{Space: NS, Local: "query", Types: feature.Get, Target: feature.Server,
		Features: []string{NS},
		Handle:   func(context.Context, feature.IQ) ([]byte, error) { return answer, nil }}}
}
