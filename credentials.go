package crosstalk

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/text/secure/precis"
)

// MinSCRAMIterations is the least PBKDF2 iteration count accepted (RFC 7677
// §4 recommends at least 4096).
const MinSCRAMIterations = 4096

// saltSize is the bytes of random salt per SCRAM hash.
const saltSize = 16

// ErrWeakPassword reports a password that is empty or not a valid PRECIS
// OpaqueString (RFC 8265 §4.2).
var ErrWeakPassword = errors.New("password is empty or invalid")

// NewCredentials derives the stored credentials for addr's password: SCRAM
// salted keys for SHA-1 and SHA-256 with fresh random salts, and digest HA1
// values under the realm addr.Domain() with the localpart as username. The
// password is prepared with the PRECIS OpaqueString profile first.
func NewCredentials(addr Address, password string, iterations int) (Credentials, error) {
	if iterations < MinSCRAMIterations {
		return Credentials{}, fmt.Errorf("scram iterations %d below the minimum %d", iterations, MinSCRAMIterations)
	}
	if addr.Local() == "" {
		return Credentials{}, fmt.Errorf("credentials for %s: %w: an account needs a localpart", addr, ErrInvalidAddress)
	}
	pw, err := preparePassword(password)
	if err != nil {
		return Credentials{}, err
	}
	var c Credentials
	if c.SCRAMSHA1, err = newSCRAMKeys(sha1.New, pw, iterations); err != nil {
		return Credentials{}, err
	}
	if c.SCRAMSHA256, err = newSCRAMKeys(sha256.New, pw, iterations); err != nil {
		return Credentials{}, err
	}
	c.Realm = addr.Domain()
	c.HA1MD5 = DigestHA1(md5.New, addr.Local(), c.Realm, pw)
	c.HA1SHA256 = DigestHA1(sha256.New, addr.Local(), c.Realm, pw)
	return c, nil
}

func preparePassword(password string) (string, error) {
	if password == "" {
		return "", ErrWeakPassword
	}
	pw, err := precis.OpaqueString.String(password)
	if err != nil || pw == "" {
		return "", fmt.Errorf("%w: %v", ErrWeakPassword, err)
	}
	return pw, nil
}

func newSCRAMKeys(h func() hash.Hash, password string, iterations int) (SCRAMKeys, error) {
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return SCRAMKeys{}, fmt.Errorf("salt: %w", err)
	}
	return DeriveSCRAMKeys(h, password, salt, iterations)
}

// DeriveSCRAMKeys computes the StoredKey and ServerKey of RFC 5802 §3 for a
// prepared password, salt and iteration count:
//
//	SaltedPassword = Hi(password, salt, i)
//	StoredKey      = H(HMAC(SaltedPassword, "Client Key"))
//	ServerKey      = HMAC(SaltedPassword, "Server Key")
func DeriveSCRAMKeys(h func() hash.Hash, password string, salt []byte, iterations int) (SCRAMKeys, error) {
	salted, err := pbkdf2.Key(h, password, salt, iterations, h().Size())
	if err != nil {
		return SCRAMKeys{}, fmt.Errorf("pbkdf2: %w", err)
	}
	clientKey := hmacSum(h, salted, "Client Key")
	stored := h()
	stored.Write(clientKey)
	return SCRAMKeys{
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  stored.Sum(nil),
		ServerKey:  hmacSum(h, salted, "Server Key"),
	}, nil
}

func hmacSum(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// DigestHA1 returns hex(H(username:realm:password)), the HA1 of HTTP/SIP
// digest authentication (RFC 7616 §3.4.2, RFC 8760).
func DigestHA1(h func() hash.Hash, username, realm, password string) string {
	d := h()
	d.Write([]byte(username + ":" + realm + ":" + password))
	return hex.EncodeToString(d.Sum(nil))
}

// Valid reports whether the keys are complete enough to verify anything.
func (k SCRAMKeys) Valid() bool {
	return len(k.Salt) > 0 && k.Iterations >= MinSCRAMIterations && len(k.StoredKey) > 0 && len(k.ServerKey) > 0
}

// VerifyPassword reports whether password matches the stored SCRAM-SHA-256
// keys (SCRAM-SHA-1 when those are absent), in constant time. It serves SASL
// PLAIN and the command line.
func (c Credentials) VerifyPassword(password string) bool {
	pw, err := preparePassword(password)
	if err != nil {
		return false
	}
	keys, h := c.SCRAMSHA256, sha256.New
	if !keys.Valid() {
		keys, h = c.SCRAMSHA1, sha1.New
	}
	if !keys.Valid() {
		return false
	}
	got, err := DeriveSCRAMKeys(h, pw, keys.Salt, keys.Iterations)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got.StoredKey, keys.StoredKey) == 1
}
