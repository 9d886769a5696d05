package xcap

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/crosstalk-im/crosstalk/sip/sipmap"
)

// Namespaces and media types of XCAP (RFC 4825) and its application usages.
const (
	nsXCAPError     = "urn:ietf:params:xml:ns:xcap-error"
	nsXCAPCaps      = "urn:ietf:params:xml:ns:xcap-caps"
	nsResourceLists = "urn:ietf:params:xml:ns:resource-lists"
	nsRLS           = "urn:ietf:params:xml:ns:rls-services"
	nsCommonPolicy  = "urn:ietf:params:xml:ns:common-policy"
	nsPresRules     = "urn:ietf:params:xml:ns:pres-rules"

	ctElement   = "application/xcap-el+xml"
	ctAttribute = "application/xcap-att+xml"
	ctNamespace = "application/xcap-ns+xml"
	ctError     = "application/xcap-error+xml"
)

// Error conditions of RFC 4825 §11.
const (
	condNotWellFormed    = "not-well-formed"
	condNotXMLFrag       = "not-xml-frag"
	condNotXMLAttValue   = "not-xml-att-value"
	condSchema           = "schema-validation-error"
	condNoParent         = "no-parent"
	condCannotInsert     = "cannot-insert"
	condCannotDelete     = "cannot-delete"
	condUniqueness       = "uniqueness-failure"
	condConstraint       = "constraint-failure"
	condNotUTF8          = "not-utf-8"
	errorPhraseMaxLength = 200
)

// Error is an XCAP failure: an HTTP status and, for 409, the RFC 4825 §11
// condition sent as an application/xcap-error+xml body. Nothing changes
// when a request fails with one.
type Error struct {
	Status    int
	Condition string
	Phrase    string
	// Ancestor is the closest existing ancestor's URI for no-parent.
	Ancestor string
	// Field names the non-unique field for uniqueness-failure.
	Field string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Condition != "" {
		return fmt.Sprintf("xcap %d %s: %s", e.Status, e.Condition, e.Phrase)
	}
	return fmt.Sprintf("xcap %d: %s", e.Status, e.Phrase)
}

// conflict returns a 409 with a condition.
func conflict(cond, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Condition: cond, Phrase: fmt.Sprintf(format, args...)}
}

// status returns a plain HTTP failure.
func status(code int, format string, args ...any) *Error {
	return &Error{Status: code, Phrase: fmt.Sprintf(format, args...)}
}

// body renders the xcap-error document of a 409.
func (e *Error) body() []byte {
	phrase := e.Phrase
	if len(phrase) > errorPhraseMaxLength {
		phrase = phrase[:errorPhraseMaxLength]
	}
	cond := el(nsXCAPError, e.Condition, "phrase", phrase)
	switch {
	case e.Condition == condNoParent && e.Ancestor != "":
		cond.add(el(nsXCAPError, "ancestor").withText(e.Ancestor))
	case e.Condition == condUniqueness:
		cond.add(el(nsXCAPError, "exists", "field", e.Field))
	}
	return el(nsXCAPError, "xcap-error").add(cond).document()
}

// writeError answers a request with err: an *Error as it says, anything
// else as 500 (the caller logs it).
func writeError(w http.ResponseWriter, err error) {
	var xe *Error
	if !errors.As(err, &xe) {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if xe.Condition == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(xe.Status)
		_, _ = w.Write([]byte(sipmap.CleanXMLText(xe.Phrase) + "\n"))
		return
	}
	b := xe.body()
	w.Header().Set("Content-Type", ctError)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(xe.Status)
	_, _ = w.Write(b)
}
