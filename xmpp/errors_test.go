package xmpp

import (
	"fmt"
	"testing"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
)

// TestSentinelTable checks that every core sentinel has a stanza condition
// and that wrapped sentinels map like bare ones.
func TestSentinelTable(t *testing.T) {
	for _, s := range crosstalk.Sentinels() {
		want, ok := sentinelCondition(s)
		if !ok {
			t.Errorf("sentinel %q has no stanza condition", s)
			continue
		}
		got := stanzaError(fmt.Errorf("context: %w", s))
		if *got != want || got.Condition == "internal-server-error" {
			t.Errorf("%q mapped to %+v, want %+v", s, got, want)
		}
	}
	if e := stanzaError(fmt.Errorf("x: %w", feature.BadRequest("y"))); e.Condition != "bad-request" {
		t.Errorf("feature error mapped to %+v", e)
	}
	if e := stanzaError(fmt.Errorf("disk on fire")); e.Condition != "internal-server-error" {
		t.Errorf("unknown error mapped to %+v", e)
	}
}
