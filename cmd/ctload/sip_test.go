package main

import (
	"errors"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

func challengeResponse(code int, name string, values ...string) *sipmsg.Response {
	res := sipmsg.NewResponse(code, "Unauthorized")
	for _, v := range values {
		res.AppendHeader(sipmsg.NewHeader(name, v))
	}
	return res
}

func TestBestChallengePrefersSHA256(t *testing.T) {
	res := challengeResponse(401, "WWW-Authenticate",
		`Digest realm="localhost", nonce="n1", algorithm=MD5`,
		`Digest realm="localhost", nonce="n2", algorithm=sha-256, qop="auth"`,
		`Digest realm="localhost", nonce="n3", algorithm=SHA-512`)
	chal, err := bestChallenge(res, false)
	if err != nil {
		t.Fatal(err)
	}
	if chal.Algorithm != "SHA-256" || chal.Nonce != "n2" {
		t.Errorf("chose %s %s, want SHA-256 n2", chal.Algorithm, chal.Nonce)
	}
	md5, err := bestChallenge(challengeResponse(407, "Proxy-Authenticate", `Digest realm="localhost", nonce="p1"`), true)
	if err != nil || md5.Nonce != "p1" {
		t.Errorf("proxy MD5 challenge: %+v %v", md5, err)
	}
	for _, res := range []*sipmsg.Response{
		challengeResponse(401, "WWW-Authenticate"),
		challengeResponse(401, "WWW-Authenticate", `Basic realm="x"`),
		challengeResponse(401, "WWW-Authenticate", `Digest realm="x", nonce="y", algorithm=MD4`),
		challengeResponse(407, "WWW-Authenticate", `Digest realm="x", nonce="y"`), // wrong header for 407
	} {
		if _, err := bestChallenge(res, res.StatusCode == 407); !errors.Is(err, errNoChallenge) {
			t.Errorf("%v: %v, want errNoChallenge", res.Headers(), err)
		}
	}
}

func TestApplyDigest(t *testing.T) {
	chal, err := bestChallenge(challengeResponse(401, "WWW-Authenticate", `Digest realm="localhost", nonce="abc", algorithm=SHA-256, qop="auth"`), false)
	if err != nil {
		t.Fatal(err)
	}
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"})
	acct := account{Local: "user1", Domain: "localhost", Password: "secret"}
	if err := applyDigest(req, chal, false, acct, 3); err != nil {
		t.Fatal(err)
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		t.Fatal("no Authorization header")
	}
	for _, want := range []string{`username="user1"`, `realm="localhost"`, `nonce="abc"`, `uri="sip:localhost"`, "algorithm=SHA-256", "nc=00000003", "qop=auth"} {
		if !strings.Contains(h.Value(), want) {
			t.Errorf("Authorization %q lacks %s", h.Value(), want)
		}
	}
	if err := applyDigest(req, chal, true, acct, 4); err != nil || req.GetHeader("Proxy-Authorization") == nil {
		t.Errorf("proxy credentials: %v", err)
	}
}
