package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestRedactSIP(t *testing.T) {
	const in = "REGISTER sip:example.com SIP/2.0\r\n" +
		"Authorization: Digest username=\"alice\", response=\"6629fae49393a05397450978507c4ef1\"\r\n" +
		"proxy-authorization: Digest username=\"alice\", response=\"abc\"\r\n" +
		"Content-Type: application/sdp\r\n\r\n" +
		"v=0\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n" +
		"a=rtpmap:0 PCMU/8000"
	out := string(RedactSIP([]byte(in)))
	for _, secret := range []string{"6629fae4", `response="abc"`, "WVNfX19zZW1jdGwg"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q survived:\n%s", secret, out)
		}
	}
	for _, kept := range []string{"REGISTER sip:example.com SIP/2.0\r\n", "Authorization: [redacted]\r\n", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[redacted]\r\n", "a=rtpmap:0 PCMU/8000", "Content-Type: application/sdp\r\n\r\n"} {
		if !strings.Contains(out, kept) {
			t.Errorf("lost %q:\n%s", kept, out)
		}
	}
}

func TestBridges(t *testing.T) {
	var buf bytes.Buffer
	l := zerolog.New(&buf)
	Slog(l).InfoContext(context.Background(), "from slog", "aor", "alice@example.com")
	PionFactory{Logger: l}.NewLogger("ice").Warnf("candidate %d", 3)
	var lines []map[string]any
	for _, raw := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("not JSON: %s", raw)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("got %d lines", len(lines))
	}
	if lines[0]["message"] != "from slog" || lines[0]["aor"] != "alice@example.com" || lines[0]["level"] != "info" {
		t.Errorf("slog line = %v", lines[0])
	}
	if lines[1]["message"] != "candidate 3" || lines[1]["component"] != "pion-ice" || lines[1]["level"] != "warn" {
		t.Errorf("pion line = %v", lines[1])
	}
}
