package sip

import (
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// headerList is a SIP message's headers in order.
type headerList interface{ Headers() []sipmsg.Header }

// headersNamed returns the headers of m named name, compared without
// case. sipgo's GetHeaders lower-cases every header name it has no
// constant for, on every call; on the REGISTER and MESSAGE paths that was
// a measurable share of the work.
func headersNamed(m headerList, name string) []sipmsg.Header {
	var out []sipmsg.Header
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			out = append(out, h)
		}
	}
	return out
}

// headerNamed returns the first header of m named name, or nil.
func headerNamed(m headerList, name string) sipmsg.Header {
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			return h
		}
	}
	return nil
}
