package sip

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// tempGRUUPrefix starts the user part of our temporary GRUUs.
const tempGRUUPrefix = "tgruu."

// pubGRUU is the public GRUU of an instance (RFC 5627 §3.1): the AOR with
// the instance as its gr parameter.
func pubGRUU(aor crosstalk.Address, instance string) string {
	uri, err := aor.SIPURI()
	if err != nil {
		return ""
	}
	return uri + ";gr=" + instance
}

// tempGRUU is a temporary GRUU of an instance (RFC 5627 §3.2): the AOR and
// instance sealed with AES-GCM under the server's key, so it reveals
// neither and needs no state; it resolves for as long as the key lives
// (until a restart) and the instance is registered.
func (s *Server) tempGRUU(aor crosstalk.Address, instance string) string {
	gcm := s.gruuCipher()
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := gcm.Seal(nonce, nonce, []byte(aor.String()+"\x00"+instance), nil)
	return "sip:" + tempGRUUPrefix + base64.RawURLEncoding.EncodeToString(sealed) + "@" + aor.Domain() + ";gr"
}

var errNotTempGRUU = errors.New("not a temporary GRUU of ours")

// openTempGRUU recovers the AOR and instance of a temporary GRUU.
func (s *Server) openTempGRUU(u *sipmsg.Uri) (crosstalk.Address, string, error) {
	if !strings.HasPrefix(u.User, tempGRUUPrefix) || !u.UriParams.Has("gr") {
		return crosstalk.Address{}, "", errNotTempGRUU
	}
	sealed, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(u.User, tempGRUUPrefix))
	gcm := s.gruuCipher()
	if err != nil || len(sealed) < gcm.NonceSize() {
		return crosstalk.Address{}, "", errNotTempGRUU
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], nil)
	if err != nil {
		return crosstalk.Address{}, "", errNotTempGRUU
	}
	aorText, instance, ok := strings.Cut(string(plain), "\x00")
	aor, perr := crosstalk.ParseAddress(aorText)
	if !ok || perr != nil || aor.Domain() != u.Host {
		return crosstalk.Address{}, "", errNotTempGRUU
	}
	return aor, instance, nil
}

func (s *Server) gruuCipher() cipher.AEAD {
	key := sha256.Sum256(append([]byte("gruu|"), s.key[:]...))
	block, _ := aes.NewCipher(key[:])
	gcm, _ := cipher.NewGCM(block)
	return gcm
}

// gruuTarget resolves a Request-URI that is a GRUU of ours (public: the
// AOR with gr=<instance>; temporary: sealed) to the AOR and the binding of
// that instance. isGRUU is false for any other URI; b is nil when the
// instance is not registered.
func (s *Server) gruuTarget(u *sipmsg.Uri) (aor crosstalk.Address, b *binding, isGRUU bool) {
	var instance string
	if a, inst, err := s.openTempGRUU(u); err == nil {
		aor, instance = a, inst
	} else if gr, has := u.UriParams.Get("gr"); has && gr != "" {
		a, err := crosstalk.ParseSIPURI(u.String())
		if err != nil {
			return crosstalk.Address{}, nil, true
		}
		aor, instance = a, gr
	} else {
		return crosstalk.Address{}, nil, false
	}
	for _, cand := range s.reg.list(aor) {
		if cand.registration().InstanceID == instance {
			return aor, cand, true
		}
	}
	return aor, nil, true
}
