package disco

import "testing"

// TestVer checks the XEP-0115 §5.2 simple-generation example.
func TestVer(t *testing.T) {
	got := Ver([]Identity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}},
		[]string{"http://jabber.org/protocol/muc", "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#items"})
	if got != "QgayPKawpkPSDYmwT/WM94uAlu0=" {
		t.Fatalf("ver %q", got)
	}
}
