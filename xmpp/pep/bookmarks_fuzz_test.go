package pep

import (
	"bytes"
	"testing"
)

// FuzzBookmarks: whatever an XEP-0048 list or an XEP-0402 item holds, the
// conversion reads it without panicking, and what it renders reads back as
// the same bookmarks (the round trip the compat sync relies on).
func FuzzBookmarks(f *testing.F) {
	f.Add([]byte(`<storage xmlns='storage:bookmarks'><conference jid='r@conference.example.com' name='R ☕' autojoin='1'><nick>N</nick><password>p&amp;w</password></conference><url name='u' url='https://x/'/></storage>`),
		[]byte(`<conference xmlns='urn:xmpp:bookmarks:1' name='R' autojoin='true'><nick>N</nick><extensions><x xmlns='urn:example'/></extensions></conference>`))
	f.Add([]byte(`<storage xmlns='storage:bookmarks'><conference jid='bad jid'/><conference jid='a@b/c'/></storage>`), []byte(`<conference/>`))
	f.Fuzz(func(t *testing.T, legacy, native []byte) {
		if bs, urls, err := parse48(legacy); err == nil {
			back, urls2, err := parse48(render48(bs, urls))
			if err != nil {
				t.Fatalf("rendered XEP-0048 does not parse: %v\n%s", err, render48(bs, urls))
			}
			if len(back) != len(bs) || !bytes.Equal(urls, urls2) {
				t.Fatalf("XEP-0048 round trip: %d → %d bookmarks", len(bs), len(back))
			}
			for i := range bs {
				if !same(bs[i], back[i]) {
					t.Fatalf("XEP-0048 round trip: %+v → %+v", bs[i], back[i])
				}
			}
		}
		if b, err := parse402("r@conference.example.com", native); err == nil {
			out := render402(b)
			back, err := parse402(b.room, out)
			if err != nil {
				t.Fatalf("rendered XEP-0402 does not parse: %v\n%s", err, out)
			}
			if !same(b, back) {
				t.Fatalf("XEP-0402 round trip: %+v → %+v\n%s", b, back, out)
			}
		}
	})
}
