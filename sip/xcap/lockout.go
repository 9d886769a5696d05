package xcap

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// loginTrust is how long a source that authenticated as an account stays
// exempt from that account's lock-out (internal/lockout).
const loginTrust = 24 * time.Hour

// lockedError is an authentication refused because its source or account
// failed too often: 429 with Retry-After.
type lockedError struct{ wait time.Duration }

func (e *lockedError) Error() string { return fmt.Sprintf("xcap: locked out for %s", e.wait) }

func (e *lockedError) write(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(e.wait/time.Second)+1))
	http.Error(w, "too many failed logins", http.StatusTooManyRequests)
}

// sourceKey is the lockout key of a request's source address.
func sourceKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return host
}
