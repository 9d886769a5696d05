package crosstalk

import "errors"

// SKELETON: replaced by the real implementation.

// MinSCRAMIterations is the least PBKDF2 iteration count accepted (RFC 7677).
const MinSCRAMIterations = 4096

// NewCredentials derives the stored credentials for addr's password: SCRAM
// salted keys and digest HA1 values under the realm addr.Domain().
func NewCredentials(addr Address, password string, iterations int) (Credentials, error) {
	return Credentials{}, errors.New("not implemented")
}
