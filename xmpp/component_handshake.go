package xmpp

import (
	"bytes"
	"crypto/sha1" // #nosec G505 -- XEP-0114 §3 defines the handshake as SHA-1; not our choice.
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// nsComponent is the namespace of an external component's stream (XEP-0114).
const nsComponent = "jabber:component:accept"

// errBadHandshake reports a <handshake/> element that is not one.
var errBadHandshake = errors.New("xep-0114: malformed handshake")

// parseHandshake returns the digest a component's <handshake/> carries:
// the text content, trimmed and lower-cased, which must be 40 hex digits
// (XEP-0114 §3). Child elements and anything else are errors.
func parseHandshake(raw []byte) (string, error) {
	var h struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
		Any     []struct {
			XMLName xml.Name
		} `xml:",any"`
	}
	if err := xml.Unmarshal(raw, &h); err != nil {
		return "", fmt.Errorf("%w: %v", errBadHandshake, err)
	}
	if h.XMLName.Local != "handshake" || (h.XMLName.Space != "" && h.XMLName.Space != nsComponent) {
		return "", fmt.Errorf("%w: <%s/> in %q", errBadHandshake, h.XMLName.Local, h.XMLName.Space)
	}
	if len(h.Any) > 0 {
		return "", fmt.Errorf("%w: child elements", errBadHandshake)
	}
	digest := strings.ToLower(strings.TrimSpace(h.Text))
	if len(digest) != sha1.Size*2 {
		return "", fmt.Errorf("%w: %d characters, want %d hex digits", errBadHandshake, len(digest), sha1.Size*2)
	}
	if _, err := hex.DecodeString(digest); err != nil {
		return "", fmt.Errorf("%w: not hex", errBadHandshake)
	}
	return digest, nil
}

// handshakeDigest is the lower-case hex SHA-1 of the stream id and the
// secret (XEP-0114 §3).
func handshakeDigest(streamID, secret string) string {
	sum := sha1.Sum([]byte(streamID + secret)) // #nosec G401 -- defined by XEP-0114.
	return hex.EncodeToString(sum[:])
}

// handshakeValid compares a received digest with the expected one in
// constant time.
func handshakeValid(got, streamID, secret string) bool {
	want := handshakeDigest(streamID, secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// componentHeader is the server's stream header on a component stream
// (XEP-0114 §3: no version, from the component's domain).
func componentHeader(id, domain string) []byte {
	return []byte("<?xml version='1.0'?><stream:stream xmlns='" + nsComponent + "' xmlns:stream='" + nsStream +
		"' id='" + id + "' from='" + escapeAttr(domain) + "'>")
}

// escapeAttr escapes a value for a single-quoted attribute.
func escapeAttr(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&#39;")
}

// componentStanza turns a stanza a component sent into the unqualified form
// the rest of the server handles (the form a c2s stanza has): a default
// namespace declaration of jabber:component:accept or jabber:client on the
// stanza element is removed, so that the stanza and its children take the
// namespace of whatever stream it is written into.
func componentStanza(raw []byte) []byte {
	end := bytes.IndexByte(raw, '>')
	if end < 0 {
		return raw
	}
	head := raw[:end]
	for _, ns := range []string{nsComponent, nsClient} {
		for _, q := range []string{"'", "\""} {
			decl := []byte(" xmlns=" + q + ns + q)
			if i := bytes.Index(head, decl); i >= 0 {
				out := make([]byte, 0, len(raw)-len(decl))
				out = append(out, raw[:i]...)
				return append(out, raw[i+len(decl):]...)
			}
		}
	}
	return raw
}
