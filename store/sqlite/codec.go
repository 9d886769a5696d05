package sqlite

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// nowUTC is the current time as the store keeps it.
func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// toMicros is t in microseconds since the Unix epoch, truncated.
func toMicros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is the UTC time of us microseconds since the Unix epoch.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// addrString is the stored form of an address: its String(), "" for zero.
func addrString(a crosstalk.Address) string {
	if a.IsZero() {
		return ""
	}
	return a.String()
}

// parseAddr turns a stored address back into an Address; "" is zero.
func parseAddr(s string) (crosstalk.Address, error) {
	if s == "" {
		return crosstalk.Address{}, nil
	}
	a, err := crosstalk.ParseAddress(s)
	if err != nil {
		return crosstalk.Address{}, fmt.Errorf("stored address %q: %w", s, err)
	}
	return a, nil
}

// encodeList stores a string list as a JSON array.
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// decodeList reads a JSON array; empty lists come back nil.
func decodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("stored list %q: %w", s, err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// archiveIDWidth is the number of base-32 digits of an int64.
const archiveIDWidth = 13

// formatArchiveID is the public id of archive sequence n: base 32 (0-9a-v),
// zero-padded so that ids sort as sequence numbers do.
func formatArchiveID(n int64) string {
	s := strconv.FormatInt(n, 32)
	return strings.Repeat("0", archiveIDWidth-len(s)) + s
}

// parseArchiveID is the inverse of formatArchiveID.
func parseArchiveID(s string) (int64, bool) {
	if len(s) != archiveIDWidth {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 32, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
