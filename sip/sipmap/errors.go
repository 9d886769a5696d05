package sipmap

import "github.com/crosstalk-im/crosstalk"

// The two error tables of RFC 7247 §6, which RFC 7572 §5 and §6 apply to
// instant messages: a SIP final response that refuses a MESSAGE becomes
// an XMPP stanza error to the sender, and an XMPP stanza error becomes the
// SIP response to a MESSAGE. The pivot is the RFC 6120 §8.3.3 condition
// name carried by crosstalk.DeliveryError, so neither frontend knows the
// other. TestSIPToXMPPTable and TestXMPPToSIPTable have one row per row of
// the tables as transcribed; the transcription is from the RFC as recalled
// and has not been checked against its text (none could be reached), see
// docs/design/006-cross-protocol.md, "What is verified against the RFC
// text", for the rows in doubt.

// sipToXMPP is RFC 7247 §6.2 (Mapping SIP Errors to XMPP), by status code.
// Codes not listed fall back to their class (RFC 3261 §8.1.3.2: an
// unknown code is treated as the x00 code of its class), see
// ConditionForStatus.
var sipToXMPP = map[int]string{
	400: "bad-request",
	401: "not-authorized",
	402: "bad-request", // RFC 6120 has no <payment-required/>
	403: "forbidden",
	404: "item-not-found",
	405: "feature-not-implemented",
	406: "not-acceptable",
	407: "not-authorized",
	408: "remote-server-timeout",
	410: "gone",
	413: "policy-violation",
	414: "policy-violation",
	415: "not-acceptable",
	416: "jid-malformed",
	420: "feature-not-implemented",
	421: "not-acceptable",
	423: "resource-constraint",
	430: "recipient-unavailable",
	433: "policy-violation",
	480: "recipient-unavailable",
	481: "item-not-found",
	482: "not-acceptable",
	483: "not-acceptable",
	484: "item-not-found",
	485: "item-not-found",
	486: "recipient-unavailable",
	487: "service-unavailable",
	488: "not-acceptable",
	491: "unexpected-request",
	493: "bad-request",
	500: "internal-server-error",
	501: "feature-not-implemented",
	502: "remote-server-not-found",
	503: "service-unavailable",
	504: "remote-server-timeout",
	505: "not-acceptable",
	513: "policy-violation",
	600: "service-unavailable",
	603: "service-unavailable",
	604: "item-not-found",
	606: "not-acceptable",
}

// xmppToSIP is RFC 7247 §6.1 (Mapping XMPP Errors to SIP), by condition.
// Where the RFC offers two codes the choice is made in StatusForCondition.
var xmppToSIP = map[string]int{
	"bad-request":             400,
	"conflict":                400,
	"feature-not-implemented": 405,
	"forbidden":               403,
	"gone":                    410, // 301 when the error names a new address
	"internal-server-error":   500,
	"item-not-found":          404,
	"jid-malformed":           400,
	"not-acceptable":          406,
	"not-allowed":             405,
	"not-authorized":          401,
	"policy-violation":        403,
	"recipient-unavailable":   480,
	"redirect":                302,
	"registration-required":   400,
	"remote-server-not-found": 404,
	"remote-server-timeout":   408,
	"resource-constraint":     500,
	"service-unavailable":     503,
	"subscription-required":   400,
	"undefined-condition":     400,
	"unexpected-request":      400, // 491 only answers a request that crossed a pending one (an INVITE glare)
}

// conditionType is the RFC 6120 §8.3.3 error type each condition is sent
// with.
var conditionType = map[string]string{
	"bad-request":             "modify",
	"conflict":                "cancel",
	"feature-not-implemented": "cancel",
	"forbidden":               "auth",
	"gone":                    "cancel",
	"internal-server-error":   "cancel",
	"item-not-found":          "cancel",
	"jid-malformed":           "modify",
	"not-acceptable":          "modify",
	"not-allowed":             "cancel",
	"not-authorized":          "auth",
	"policy-violation":        "modify",
	"recipient-unavailable":   "wait",
	"redirect":                "modify",
	"registration-required":   "auth",
	"remote-server-not-found": "cancel",
	"remote-server-timeout":   "wait",
	"resource-constraint":     "wait",
	"service-unavailable":     "cancel",
	"subscription-required":   "auth",
	"undefined-condition":     "cancel",
	"unexpected-request":      "wait",
}

// ConditionForStatus maps a SIP final error response (300–699) to an XMPP
// stanza error condition by RFC 7247 §6.2: a listed code by its row, a 3xx
// to <redirect/>, any other code as the x00 code of its class. It returns
// "" for a code below 300, which is no error.
func ConditionForStatus(code int) string {
	if code < 300 || code > 699 {
		return ""
	}
	if c, ok := sipToXMPP[code]; ok {
		return c
	}
	if code < 400 {
		return "redirect"
	}
	return sipToXMPP[code/100*100]
}

// StatusForCondition maps an XMPP stanza error condition to a SIP status
// code by RFC 7247 §6.1. An unknown condition is undefined-condition (400,
// RFC 6120 §8.3.2: unknown conditions are treated as undefined).
func StatusForCondition(condition string) int {
	if c, ok := xmppToSIP[condition]; ok {
		return c
	}
	return 400
}

// DeliveryErrorForStatus builds the core delivery error a SIP final
// response means (RFC 7247 §6.2), with the reason phrase as its text.
func DeliveryErrorForStatus(code int, reason string) *crosstalk.DeliveryError {
	cond := ConditionForStatus(code)
	if cond == "" {
		cond = "undefined-condition"
	}
	return &crosstalk.DeliveryError{Condition: cond, Type: ConditionType(cond), Text: Sanitize(reason)}
}

// ConditionType returns the RFC 6120 §8.3.3 error type a condition is sent
// with; "cancel" for an unknown one.
func ConditionType(condition string) string {
	if t, ok := conditionType[condition]; ok {
		return t
	}
	return "cancel"
}
