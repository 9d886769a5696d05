package mam

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// ends is an archive whose ends are given.
type ends struct {
	first, last crosstalk.ArchiveRef
	ok          bool
	err         error
}

func (e ends) ArchiveEnds(context.Context, crosstalk.Address) (first, last crosstalk.ArchiveRef, ok bool, err error) {
	return e.first, e.last, e.ok, e.err
}

// TestMetadata renders the archive metadata of XEP-0313 §"Archive
// metadata": empty for an empty archive, <start/> and <end/> in UTC with
// milliseconds, ids escaped when they need it, and a read error as such.
func TestMetadata(t *testing.T) {
	at := time.Date(2026, 12, 6, 17, 4, 5, 123456000, time.FixedZone("CET", 3600))
	owner := crosstalk.MustParseAddress("alice@example.com")
	for i, tc := range []struct {
		archive Ends
		want    string
	}{
		{ends{}, "<metadata xmlns='urn:xmpp:mam:2'/>"},
		{ends{first: crosstalk.ArchiveRef{ID: "0000000000001", Time: at}, last: crosstalk.ArchiveRef{ID: "00000000000av", Time: at.Add(time.Hour)}, ok: true},
			"<metadata xmlns='urn:xmpp:mam:2'><start id='0000000000001' timestamp='2026-12-06T16:04:05.123Z'/>" +
				"<end id='00000000000av' timestamp='2026-12-06T17:04:05.123Z'/></metadata>"},
		{ends{first: crosstalk.ArchiveRef{ID: "a'<b", Time: at}, last: crosstalk.ArchiveRef{ID: "a'<b", Time: at}, ok: true},
			"<metadata xmlns='urn:xmpp:mam:2'><start id='a&#39;&lt;b' timestamp='2026-12-06T16:04:05.123Z'/>" +
				"<end id='a&#39;&lt;b' timestamp='2026-12-06T16:04:05.123Z'/></metadata>"},
	} {
		got, err := Metadata(t.Context(), tc.archive, owner)
		if err != nil || string(got) != tc.want {
			t.Errorf("%d: %s (%v)\n want %s", i, got, err, tc.want)
		}
	}
	failing := errors.New("disk on fire")
	if _, err := Metadata(t.Context(), ends{err: failing}, owner); !errors.Is(err, failing) {
		t.Fatalf("read error: %v", err)
	}
}
