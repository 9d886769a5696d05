package interop

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchSipp returns the absolute path of a scenario of bench/compare.sh's
// sipp suite (bench/sipp).
func benchSipp(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "bench", "sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sippCreds is the [authentication] keyword bench/sipp's scenarios take
// from their injection file.
func sippCreds(user string) string {
	return fmt.Sprintf("[authentication username=%s password=%s]", user, sipUsers[user+"@localhost"])
}

// TestSIPBenchSippScenarios runs each scenario of the sipp benchmark once
// against Crosstalk: bob's UAS registered with register.xml, then a
// MESSAGE from alice with digest (message_auth.xml, 407 then 200) and one
// from a user of another domain without credentials (message_ext.xml,
// 200 at once: issue 4's policy, relayed, not refused), both received by
// the UAS. The benchmark counts on these scenarios failing when they
// should: a wrong password, and a recipient with no binding (202, stored
// offline, is not a relay), must make sipp fail.
func TestSIPBenchSippScenarios(t *testing.T) {
	s := startSIPServer(t)
	bobPort := freePort(t)
	uas := startSipp(t, benchSipp(t, "message_uas.xml"), bobPort, 20*time.Second, nil, "-m", "2")
	time.Sleep(200 * time.Millisecond)
	startSipp(t, benchSipp(t, "register.xml"), freePort(t), 10*time.Second,
		[]string{fmt.Sprintf("bob;%d;localhost;%s", bobPort, sippCreds("bob"))}, "-m", "1", s.SIP).wait()
	startSipp(t, benchSipp(t, "message_auth.xml"), freePort(t), 10*time.Second,
		[]string{"alice;bob;localhost;" + sippCreds("alice")}, "-m", "1", s.SIP).wait()
	startSipp(t, benchSipp(t, "message_ext.xml"), freePort(t), 10*time.Second,
		[]string{"carol;bob;localhost;example.net"}, "-m", "1", s.SIP).wait()
	uas.wait()
	if got := strings.Count(uas.logs("messages"), "bench message"); got < 2 {
		t.Fatalf("the UAS got %d of 2 MESSAGEs:\n%s", got, uas.logs("messages"))
	}

	// Failures must show as failures.
	mustFail := func(what, scenario string, line string) {
		t.Helper()
		p := startSipp(t, benchSipp(t, scenario), freePort(t), 5*time.Second, []string{line}, "-m", "1", s.SIP)
		if err := <-p.done; err == nil {
			t.Fatalf("%s: sipp %s succeeded", what, scenario)
		}
	}
	mustFail("wrong password", "register.xml", fmt.Sprintf("bob;%d;localhost;[authentication username=bob password=wrong]", bobPort))
	mustFail("wrong password", "message_auth.xml", "alice;bob;localhost;[authentication username=alice password=wrong]")
	// alice has no binding: her MESSAGE is stored (202), not relayed.
	mustFail("no binding", "message_ext.xml", "carol;alice;localhost;example.net")
}
