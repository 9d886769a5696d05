package sip

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// tortureOutcome is what the server does with each RFC 4475 message (the
// files in testdata/torture, copied from sipgo's test data, which are the
// RFC's own): "drop" when sipgo's parser refuses it (UDP: dropped; TCP: the
// connection is closed), a status code when Validate refuses it, "ok" when
// it passes validation and the method handler decides, "response" for
// responses.
var tortureOutcome = map[string]string{
	"invalid/badaspec": "drop", "invalid/baddn": "drop", "invalid/badinv01": "drop",
	"invalid/bigcode": "drop", "invalid/clerr": "drop", "invalid/ltgtruri": "drop",
	"invalid/lwsruri": "drop", "invalid/lwsstart": "drop", "invalid/ncl": "drop",
	"invalid/novelsc": "drop", "invalid/quotbal": "drop", "invalid/scalar02": "drop",
	"invalid/scalarlg": "drop", "invalid/test": "drop", "invalid/trws": "drop",
	"invalid/badvers": "505",
	"invalid/bext01":  "420",
	"invalid/escruri": "400", "invalid/insuf": "400", "invalid/inv2543": "400",
	"invalid/mcl01": "400", "invalid/mismatch01": "400", "invalid/mismatch02": "400",
	"invalid/multi01":   "400",
	"invalid/unkscm":    "416",
	"invalid/badbranch": "ok", "invalid/baddate": "ok", "invalid/cparam01": "ok",
	"invalid/cparam02": "ok", "invalid/invut": "ok", "invalid/regaut01": "ok",
	"invalid/regbadct": "ok", "invalid/regescrt": "ok", "invalid/sdp01": "ok",
	"invalid/unksm2": "ok", "invalid/zeromf": "ok",
	"invalid/bcast": "response", "valid/noreason": "response", "valid/unreason": "response",
	"valid/dblreq": "ok", "valid/esc01": "ok", "valid/esc02": "ok", "valid/escnull": "ok",
	"valid/intmeth": "ok", "valid/longreq": "ok", "valid/lwsdisp": "ok", "valid/mpart01": "ok",
	"valid/semiuri": "ok", "valid/transports": "ok", "valid/wsinv": "ok",
}

func tortureFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/torture/*/*.dat")
	if err != nil || len(files) == 0 {
		t.Fatalf("no torture files: %v", err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel("testdata/torture", f)
		out[strings.TrimSuffix(filepath.ToSlash(rel), ".dat")] = data
	}
	return out
}

func TestTortureValidate(t *testing.T) {
	files := tortureFiles(t)
	if len(files) != len(tortureOutcome) {
		t.Errorf("%d files, %d expectations", len(files), len(tortureOutcome))
	}
	for name, data := range files {
		want, ok := tortureOutcome[name]
		if !ok {
			t.Errorf("%s: no expectation", name)
			continue
		}
		got := "ok"
		msg, err := sipmsg.NewParser().ParseSIP(data)
		switch {
		case err != nil:
			got = "drop"
		default:
			if req, isReq := msg.(*sipmsg.Request); !isReq {
				got = "response"
			} else if err := Validate(req); err != nil {
				got = strings.Fields(err.Error())[0]
			}
		}
		if got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
}

// TestTortureWire sends every torture message to the running server over
// TCP, each on its own connection: refused ones get their status or a
// closed connection, none crashes the server, and it still registers
// afterwards.
func TestTortureWire(t *testing.T) {
	e := newEnv(t, nil, "alice")
	for name, data := range tortureFiles(t) {
		want := tortureOutcome[name]
		conn, err := net.DialTimeout("tcp", e.tcp, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		wait := 3 * time.Second
		if !strings.HasPrefix(want, "4") && !strings.HasPrefix(want, "5") {
			wait = 300 * time.Millisecond
		}
		if name == "invalid/inv2543" || name == "invalid/mcl01" {
			// inv2543 has no Content-Length and mcl01 two: a stream cannot
			// frame them, so the connection may close before the 400.
			want = "drop"
			wait = 300 * time.Millisecond
		}
		_ = conn.SetDeadline(time.Now().Add(wait))
		if _, err := conn.Write(data); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		switch want {
		case "drop", "response", "ok":
			// "ok" messages reach handlers that answer (404, 401, 403, …) or
			// forward; nothing more to check than the server's survival.
		default:
			if !strings.HasPrefix(line, "SIP/2.0 "+want) {
				t.Errorf("%s: got %q, want %s", name, strings.TrimSpace(line), want)
			}
		}
	}
	a := newUA(t, "alice")
	wantStatus(t, a.register(e, 60), 200)
}
