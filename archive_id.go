package crosstalk

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// archiveIDWidth is the number of base-32 digits of an int64.
const archiveIDWidth = 13

// FormatArchiveID is the public form of archive id n (n > 0): base 32
// (0-9a-v), zero-padded to 13 digits so that ids sort as numbers do. Both
// stores use this form.
func FormatArchiveID(n int64) string {
	s := strconv.FormatInt(n, 32)
	return strings.Repeat("0", archiveIDWidth-len(s)) + s
}

// ParseArchiveID is the inverse of FormatArchiveID; false for anything
// that is not such an id.
func ParseArchiveID(s string) (int64, bool) {
	if len(s) != archiveIDWidth {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 32, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// ArchiveIDs hands out archive ids before the archive is written, so that
// a message can carry its archive id when it is delivered (XEP-0359
// stanza-id). Ids are the time in microseconds shifted left by 8 bits, and
// strictly increasing: 256 ids per microsecond before they run ahead of the
// clock, far above the sequences a store starts at (1, 2, …), and larger
// after a restart unless the clock went back. The zero value is ready.
type ArchiveIDs struct {
	mu   sync.Mutex
	last int64
}

// Next returns a new id, greater than every id it returned before.
func (g *ArchiveIDs) Next(now time.Time) string {
	n := now.UnixMicro() << 8
	g.mu.Lock()
	if n <= g.last {
		n = g.last + 1
	}
	g.last = n
	g.mu.Unlock()
	return FormatArchiveID(n)
}
