package scram

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/crosstalk-im/crosstalk"
)

// Errors of an exchange. ErrAuthFailed covers every way the client's proof
// can be wrong, including an unknown user, so that the two cannot be told
// apart; the others report malformed or inconsistent messages.
var (
	// ErrAuthFailed reports a wrong proof or an unknown user.
	ErrAuthFailed = errors.New("scram: authentication failed")
	// ErrMalformed reports a message that does not follow RFC 5802 §7.
	ErrMalformed = errors.New("scram: malformed message")
	// ErrChannelBinding reports a channel-binding mismatch or downgrade.
	ErrChannelBinding = errors.New("scram: channel binding failed")
	// ErrInvalidAuthzid reports an authorization identity other than the
	// authenticated user.
	ErrInvalidAuthzid = errors.New("scram: authorization identity refused")
)

// Hash names a SCRAM hash family.
type Hash uint8

// Supported hashes.
const (
	SHA1 Hash = iota
	SHA256
)

// Mechanism returns the SASL mechanism name, with -PLUS when plus is true.
func (h Hash) Mechanism(plus bool) string {
	name := "SCRAM-SHA-1"
	if h == SHA256 {
		name = "SCRAM-SHA-256"
	}
	if plus {
		name += "-PLUS"
	}
	return name
}

func (h Hash) new() func() hash.Hash {
	if h == SHA256 {
		return sha256.New
	}
	return sha1.New
}

// Keys picks this hash's stored keys from credentials.
func (h Hash) Keys(c crosstalk.Credentials) crosstalk.SCRAMKeys {
	if h == SHA256 {
		return c.SCRAMSHA256
	}
	return c.SCRAMSHA1
}

// ChannelBinding holds the channel-binding data of the TLS connection, by
// type name ("tls-exporter", "tls-server-end-point"). A nil or empty map
// means the connection offers no channel binding.
type ChannelBinding map[string][]byte

// Lookup returns the stored keys of a user (the SCRAM username, already
// decoded). It returns an error wrapping crosstalk.ErrNoSuchAccount for an
// unknown user; the exchange then continues with invented keys and fails at
// the proof.
type Lookup func(username string) (crosstalk.SCRAMKeys, error)

// Server is one SCRAM exchange on the server side.
type Server struct {
	hash   Hash
	plus   bool
	cb     ChannelBinding
	lookup Lookup
	nonce  func() string

	step        int
	username    string
	authzid     string
	gs2Header   string
	cbData      []byte
	clientFirst string
	serverFirst string
	fullNonce   string
	keys        crosstalk.SCRAMKeys
	unknown     bool
	done        bool
}

// New starts an exchange. plus selects the -PLUS variant; cb is the
// connection's channel-binding data (needed for -PLUS, and used to detect a
// downgrade when a client says "y").
func New(h Hash, plus bool, cb ChannelBinding, lookup Lookup) *Server {
	return &Server{hash: h, plus: plus, cb: cb, lookup: lookup, nonce: randomNonce}
}

// SetNonce replaces the server nonce generator; tests use it for RFC vectors.
func (s *Server) SetNonce(f func() string) { s.nonce = f }

// Done reports whether the client has been authenticated.
func (s *Server) Done() bool { return s.done }

// Username returns the authenticated (or claimed, before Done) username.
func (s *Server) Username() string { return s.username }

// Authzid returns the authorization identity the client asked for, if any.
func (s *Server) Authzid() string { return s.authzid }

// Step takes a client message and returns the server's answer: the
// server-first-message after the client-first-message, and the
// server-final-message ("v=…") after a valid client-final-message.
func (s *Server) Step(msg []byte) ([]byte, error) {
	switch s.step {
	case 0:
		s.step++
		return s.first(string(msg))
	case 1:
		s.step++
		return s.final(string(msg))
	default:
		return nil, fmt.Errorf("%w: exchange already finished", ErrMalformed)
	}
}

func (s *Server) first(msg string) ([]byte, error) {
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return nil, fmt.Errorf("%w: no gs2 header", ErrMalformed)
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, fmt.Errorf("%w: no gs2 header", ErrMalformed)
	}
	if err := s.checkFlag(flag); err != nil {
		return nil, err
	}
	if authz != "" {
		v, ok := strings.CutPrefix(authz, "a=")
		if !ok {
			return nil, fmt.Errorf("%w: bad authzid field", ErrMalformed)
		}
		name, err := decodeName(v)
		if err != nil {
			return nil, err
		}
		s.authzid = name
	}
	s.gs2Header = flag + "," + authz + ","
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || strings.HasPrefix(attrs[0], "m=") {
		return nil, fmt.Errorf("%w: client-first-message-bare", ErrMalformed)
	}
	user, ok1 := strings.CutPrefix(attrs[0], "n=")
	cnonce, ok2 := strings.CutPrefix(attrs[1], "r=")
	if !ok1 || !ok2 || cnonce == "" || !printable(cnonce) {
		return nil, fmt.Errorf("%w: username or nonce", ErrMalformed)
	}
	name, err := decodeName(user)
	if err != nil {
		return nil, err
	}
	s.username = name
	s.clientFirst = bare
	keys, err := s.lookup(name)
	if err != nil {
		if !errors.Is(err, crosstalk.ErrNoSuchAccount) {
			return nil, fmt.Errorf("scram: credentials of %q: %w", name, err)
		}
		keys, s.unknown = s.invented(), true
	}
	if !keys.Valid() {
		keys, s.unknown = s.invented(), true
	}
	s.keys = keys
	s.fullNonce = cnonce + s.nonce()
	s.serverFirst = "r=" + s.fullNonce + ",s=" + base64.StdEncoding.EncodeToString(keys.Salt) + ",i=" + strconv.Itoa(keys.Iterations)
	return []byte(s.serverFirst), nil
}

// checkFlag enforces RFC 5802 §6: -PLUS needs "p=" with a type this
// connection has; "y" while we offer binding is a downgrade.
func (s *Server) checkFlag(flag string) error {
	switch {
	case flag == "n":
		if s.plus {
			return fmt.Errorf("%w: -PLUS without channel binding", ErrChannelBinding)
		}
	case flag == "y":
		if s.plus || len(s.cb) > 0 {
			return fmt.Errorf("%w: client believes the server has no channel binding", ErrChannelBinding)
		}
	case strings.HasPrefix(flag, "p="):
		data, ok := s.cb[flag[2:]]
		if !s.plus || !ok {
			return fmt.Errorf("%w: binding type %q not offered", ErrChannelBinding, flag[2:])
		}
		s.cbData = data
	default:
		return fmt.Errorf("%w: gs2 flag %q", ErrMalformed, flag)
	}
	return nil
}

func (s *Server) final(msg string) ([]byte, error) {
	withoutProof, proofB64, ok := strings.Cut(msg, ",p=")
	if !ok || strings.Contains(proofB64, ",") {
		return nil, fmt.Errorf("%w: no proof", ErrMalformed)
	}
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 {
		return nil, fmt.Errorf("%w: client-final-message", ErrMalformed)
	}
	cbB64, ok1 := strings.CutPrefix(attrs[0], "c=")
	nonce, ok2 := strings.CutPrefix(attrs[1], "r=")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: channel binding or nonce", ErrMalformed)
	}
	cb, err := base64.StdEncoding.DecodeString(cbB64)
	if err != nil {
		return nil, fmt.Errorf("%w: channel binding encoding", ErrMalformed)
	}
	want := append([]byte(s.gs2Header), s.cbData...)
	if subtle.ConstantTimeCompare(cb, want) != 1 {
		return nil, fmt.Errorf("%w: binding data differ", ErrChannelBinding)
	}
	if subtle.ConstantTimeCompare([]byte(nonce), []byte(s.fullNonce)) != 1 {
		return nil, fmt.Errorf("%w: nonce differs", ErrMalformed)
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil {
		return nil, fmt.Errorf("%w: proof encoding", ErrMalformed)
	}
	h := s.hash.new()
	authMessage := s.clientFirst + "," + s.serverFirst + "," + withoutProof
	signature := mac(h, s.keys.StoredKey, authMessage)
	if len(proof) != len(signature) {
		return nil, ErrAuthFailed
	}
	clientKey := make([]byte, len(proof))
	subtle.XORBytes(clientKey, proof, signature)
	d := h()
	d.Write(clientKey)
	if subtle.ConstantTimeCompare(d.Sum(nil), s.keys.StoredKey) != 1 || s.unknown {
		return nil, ErrAuthFailed
	}
	s.done = true
	return []byte("v=" + base64.StdEncoding.EncodeToString(mac(h, s.keys.ServerKey, authMessage))), nil
}

// invented returns keys for an unknown user that look like real ones and
// never verify: the salt is derived from the name so that repeated tries
// see the same salt.
func (s *Server) invented() crosstalk.SCRAMKeys {
	h := s.hash.new()
	salt := mac(sha256.New, []byte("crosstalk unknown user"), s.username)[:16]
	key := make([]byte, h().Size())
	_, _ = rand.Read(key)
	return crosstalk.SCRAMKeys{Salt: salt, Iterations: crosstalk.MinSCRAMIterations, StoredKey: key, ServerKey: key}
}

func mac(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// decodeName undoes the saslname escaping of RFC 5802 §5.1.
func decodeName(s string) (string, error) {
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", fmt.Errorf("%w: bad escape in saslname", ErrMalformed)
		}
		i += 2
	}
	return b.String(), nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == ',' {
			return false
		}
	}
	return true
}

func randomNonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
