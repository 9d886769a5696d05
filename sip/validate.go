package sip

import (
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Validate checks what sipgo's parser accepts but RFC 3261 does not (the
// RFC 4475 torture cases among them) and returns a *StatusError saying how
// to answer: 505 for another SIP version, 400 for missing or repeated
// mandatory headers, a CSeq method that is not the request's, a
// Content-Length that is not the body's, a From without tag, or a
// Request-URI with headers; 416 for a Request-URI scheme other than sip or
// sips; 420 for any Proxy-Require (we support no proxy extension); 483 for
// Max-Forwards 0 unless it is an OPTIONS or a REGISTER (answered by us, not
// forwarded).
func Validate(req *sipmsg.Request) error {
	if req.SipVersion != "SIP/2.0" {
		return statusErr(505, "Version Not Supported")
	}
	// The mandatory headers first; all but Via may appear only once (RFC
	// 3261 §7.3.1: only comma-list headers repeat).
	names := [...]string{"Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"}
	var counts [len(names)]int
	for _, h := range req.Headers() {
		n := h.Name()
		for i, name := range names {
			if strings.EqualFold(n, name) {
				counts[i]++
				break
			}
		}
	}
	for i, name := range names[:6] {
		if counts[i] == 0 {
			return statusErr(400, "Bad Request (missing "+name+")")
		}
	}
	for i, name := range names {
		if i != 0 && counts[i] > 1 { // Via repeats
			return statusErr(400, "Bad Request (repeated "+name+")")
		}
	}
	if req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.MaxForwards() == nil {
		return statusErr(400, "Bad Request (malformed mandatory header)")
	}
	// sipgo upper-cases the start line's method but not CSeq's.
	if cseq := req.CSeq(); !strings.EqualFold(string(cseq.MethodName), string(req.Method)) {
		return statusErr(400, "Bad Request (CSeq method does not match)")
	}
	if cl := req.ContentLength(); cl != nil && int(*cl) != len(req.Body()) {
		return statusErr(400, "Bad Request (Content-Length does not match the body)")
	}
	if strings.TrimSpace(callID(req)) == "" {
		return statusErr(400, "Bad Request (empty Call-ID)")
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips":
	default:
		return statusErr(416, "Unsupported URI Scheme")
	}
	if len(req.Recipient.Headers) > 0 {
		return statusErr(400, "Bad Request (Request-URI with headers)")
	}
	if h := headerNamed(req, "Proxy-Require"); h != nil {
		return statusErr(420, "Bad Extension", sipmsg.NewHeader("Unsupported", h.Value()))
	}
	if req.MaxForwards().Val() == 0 && req.Method != sipmsg.OPTIONS && req.Method != sipmsg.REGISTER {
		return statusErr(483, "Too Many Hops")
	}
	return nil
}

// supportedExtension reports whether this server implements an option tag
// as a UAS (RFC 3327 path, RFC 5626 outbound, RFC 5627 gruu).
func supportedExtension(tag string) bool {
	switch tag {
	case "path", "outbound", "gruu":
		return true
	}
	return false
}

// checkRequire returns 420 for Require option tags we do not support, for
// requests this server answers itself (RFC 3261 §8.2.2.3).
func checkRequire(req *sipmsg.Request) error {
	var unsupported []string
	for _, h := range headersNamed(req, "Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			tag = strings.ToLower(strings.TrimSpace(tag))
			if tag != "" && !supportedExtension(tag) {
				unsupported = append(unsupported, tag)
			}
		}
	}
	if len(unsupported) > 0 {
		return statusErr(420, "Bad Extension", sipmsg.NewHeader("Unsupported", strings.Join(unsupported, ", ")))
	}
	return nil
}
