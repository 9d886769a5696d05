package sipmap

import "testing"

// TestSIPToXMPPTable has one row per row of RFC 7247 §6.2 (SIP response
// codes to XMPP stanza error conditions), plus the class fall-backs.
func TestSIPToXMPPTable(t *testing.T) {
	for i, tc := range []struct {
		code int
		want string
	}{
		{300, "redirect"}, {301, "redirect"}, {302, "redirect"}, {305, "redirect"}, {380, "redirect"}, // 3xx
		{400, "bad-request"},
		{401, "not-authorized"},
		{402, "bad-request"},
		{403, "forbidden"},
		{404, "item-not-found"},
		{405, "feature-not-implemented"},
		{406, "not-acceptable"},
		{407, "not-authorized"},
		{408, "remote-server-timeout"},
		{410, "gone"},
		{413, "policy-violation"},
		{414, "policy-violation"},
		{415, "not-acceptable"},
		{416, "jid-malformed"},
		{420, "feature-not-implemented"},
		{421, "not-acceptable"},
		{423, "resource-constraint"},
		{430, "recipient-unavailable"},
		{433, "policy-violation"},
		{480, "recipient-unavailable"},
		{481, "item-not-found"},
		{482, "not-acceptable"},
		{483, "not-acceptable"},
		{484, "item-not-found"},
		{485, "item-not-found"},
		{486, "recipient-unavailable"},
		{487, "service-unavailable"},
		{488, "not-acceptable"},
		{491, "unexpected-request"},
		{493, "bad-request"},
		{500, "internal-server-error"},
		{501, "feature-not-implemented"},
		{502, "remote-server-not-found"},
		{503, "service-unavailable"},
		{504, "remote-server-timeout"},
		{505, "not-acceptable"},
		{513, "policy-violation"},
		{600, "service-unavailable"},
		{603, "service-unavailable"},
		{604, "item-not-found"},
		{606, "not-acceptable"},
		// RFC 3261 §8.1.3.2: an unlisted code is the x00 of its class.
		{409, "bad-request"}, {499, "bad-request"}, {580, "internal-server-error"}, {699, "service-unavailable"},
		// No error.
		{100, ""}, {200, ""}, {202, ""}, {700, ""},
	} {
		if got := ConditionForStatus(tc.code); got != tc.want {
			t.Errorf("%d: %d → %q, want %q", i, tc.code, got, tc.want)
		}
	}
}

// TestXMPPToSIPTable has one row per row of RFC 7247 §6.1 (XMPP stanza
// error conditions to SIP response codes).
func TestXMPPToSIPTable(t *testing.T) {
	for i, tc := range []struct {
		cond string
		want int
	}{
		{"bad-request", 400},
		{"conflict", 400},
		{"feature-not-implemented", 405},
		{"forbidden", 403},
		{"gone", 410},
		{"internal-server-error", 500},
		{"item-not-found", 404},
		{"jid-malformed", 400},
		{"not-acceptable", 406},
		{"not-allowed", 405},
		{"not-authorized", 401},
		{"policy-violation", 403},
		{"recipient-unavailable", 480},
		{"redirect", 302},
		{"registration-required", 400},
		{"remote-server-not-found", 404},
		{"remote-server-timeout", 408},
		{"resource-constraint", 500},
		{"service-unavailable", 503},
		{"subscription-required", 400},
		{"undefined-condition", 400},
		{"unexpected-request", 400},
		{"no-such-condition", 400}, // unknown: undefined-condition
	} {
		if got := StatusForCondition(tc.cond); got != tc.want {
			t.Errorf("%d: %s → %d, want %d", i, tc.cond, got, tc.want)
		}
	}
}

// TestErrorTablesComplete: every error code maps to a condition that has
// a type and maps back to an error code, and every condition of RFC 6120
// §8.3.3 has a row.
func TestErrorTablesComplete(t *testing.T) {
	for code := 300; code <= 699; code++ {
		c := ConditionForStatus(code)
		if _, ok := conditionType[c]; !ok {
			t.Fatalf("%d → %q has no error type", code, c)
		}
		if back := StatusForCondition(c); back < 300 {
			t.Fatalf("%d → %s → %d", code, c, back)
		}
	}
	if len(xmppToSIP) != 22 || len(conditionType) != 22 {
		t.Fatalf("RFC 6120 §8.3.3 defines 22 conditions: %d rows, %d types", len(xmppToSIP), len(conditionType))
	}
	d := DeliveryErrorForStatus(486, "Busy\r\nHere")
	if d.Condition != "recipient-unavailable" || d.Type != "wait" || d.Text != "Busy  Here" {
		t.Fatalf("486: %+v", d)
	}
}
