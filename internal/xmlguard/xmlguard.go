package xmlguard

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// Errors the guard returns; frontends map them to stream errors
// (policy-violation, restricted-xml) or HTTP/SIP status codes.
var (
	// ErrTooLarge reports a unit (stanza or document) over its byte budget.
	ErrTooLarge = errors.New("xml: unit exceeds its size limit")
	// ErrTooDeep reports elements nested deeper than allowed.
	ErrTooDeep = errors.New("xml: elements nested too deep")
	// ErrTooManyAttrs reports an element with more attributes than allowed.
	ErrTooManyAttrs = errors.New("xml: too many attributes")
	// ErrRestrictedXML reports a DTD, comment or processing instruction
	// (RFC 6120 §11.1).
	ErrRestrictedXML = errors.New("xml: restricted XML (DTD, comment or processing instruction)")
)

// Limits bounds the shape of XML.
type Limits struct {
	// MaxBytes is the byte budget of one unit; ≤ 0 means unlimited.
	MaxBytes int64
	// MaxDepth is the deepest element nesting allowed, counting the
	// outermost element as 1; ≤ 0 means 32.
	MaxDepth int
	// MaxAttrs is the most attributes on one element; ≤ 0 means 64.
	MaxAttrs int
}

// DocumentLimits returns the limits for a standalone document of at most
// maxBytes bytes with the default depth and attribute caps.
func DocumentLimits(maxBytes int64) Limits {
	return Limits{MaxBytes: maxBytes}
}

func (l Limits) depth() int {
	if l.MaxDepth <= 0 {
		return 32
	}
	return l.MaxDepth
}

func (l Limits) attrs() int {
	if l.MaxAttrs <= 0 {
		return 64
	}
	return l.MaxAttrs
}

// Budget counts the bytes read through it and fails reads once the count
// passes the limit, until Reset. The count is exact at the reader; a decoder
// above it buffers up to 4 KiB ahead, so a unit's real limit is the budget
// plus that read-ahead.
type Budget struct {
	r     io.Reader
	limit int64
	used  int64
}

// NewBudget returns a Budget over r with limit bytes per unit; limit ≤ 0
// means unlimited.
func NewBudget(r io.Reader, limit int64) *Budget {
	return &Budget{r: r, limit: limit}
}

// Read reads from the underlying reader and counts the bytes; it returns
// ErrTooLarge once the unit's count passes the limit.
func (b *Budget) Read(p []byte) (int, error) {
	if b.limit > 0 {
		if b.used > b.limit {
			return 0, ErrTooLarge
		}
		if room := b.limit - b.used + 1; int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := b.r.Read(p)
	b.used += int64(n)
	if b.limit > 0 && b.used > b.limit {
		return n, ErrTooLarge
	}
	return n, err
}

// Reset starts a new unit: the count goes back to zero.
func (b *Budget) Reset() { b.used = 0 }

// SetLimit changes the per-unit limit, for example from the negotiation
// budget to the stanza budget.
func (b *Budget) SetLimit(limit int64) { b.limit = limit }

// Used returns the bytes counted since the last Reset.
func (b *Budget) Used() int64 { return b.used }

// Reader is an xml.TokenReader that enforces Limits on the tokens of
// another. It is not safe for concurrent use; a session's single reader owns
// it.
type Reader struct {
	tr        xml.TokenReader
	lim       Limits
	budget    *Budget
	unitDepth int
	depth     int
	err       error
}

// NewReader wraps tr. When budget is not nil, it is Reset each time an
// element closes back to unitDepth: 1 for a stream whose stanzas are the
// children of the stream element, 0 for a document.
func NewReader(tr xml.TokenReader, lim Limits, budget *Budget, unitDepth int) *Reader {
	return &Reader{tr: tr, lim: lim, budget: budget, unitDepth: unitDepth}
}

// Depth returns the current element depth (0 outside any element).
func (r *Reader) Depth() int { return r.depth }

// Token returns the next token or the first limit it broke; after an error
// every call returns the same error.
func (r *Reader) Token() (xml.Token, error) {
	if r.err != nil {
		return nil, r.err
	}
	tok, err := r.tr.Token()
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			r.err = ErrTooLarge
			return nil, r.err
		}
		return tok, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		r.depth++
		if r.depth > r.lim.depth() {
			return r.fail(fmt.Errorf("%w: depth %d > %d", ErrTooDeep, r.depth, r.lim.depth()))
		}
		if len(t.Attr) > r.lim.attrs() {
			return r.fail(fmt.Errorf("%w: %d > %d on <%s>", ErrTooManyAttrs, len(t.Attr), r.lim.attrs(), t.Name.Local))
		}
	case xml.EndElement:
		r.depth--
		if r.depth == r.unitDepth && r.budget != nil {
			r.budget.Reset()
		}
	case xml.Directive, xml.Comment, xml.ProcInst:
		if pi, ok := t.(xml.ProcInst); ok && pi.Target == "xml" && r.depth == 0 {
			// The XML declaration itself is allowed before the root.
			return tok, nil
		}
		return r.fail(ErrRestrictedXML)
	}
	return tok, nil
}

func (r *Reader) fail(err error) (xml.Token, error) {
	r.err = err
	return nil, err
}

// Decode reads one XML document of at most lim.MaxBytes bytes from r into v
// under the limits, and fails on anything after the root element but white
// space.
func Decode(r io.Reader, lim Limits, v any) error {
	budget := NewBudget(r, lim.MaxBytes)
	dec := xml.NewDecoder(budget)
	guard := NewReader(dec, lim, nil, 0)
	if err := xml.NewTokenDecoder(guard).Decode(v); err != nil {
		if errors.Is(err, ErrTooLarge) || (budget.limit > 0 && budget.used > budget.limit) {
			return ErrTooLarge
		}
		return fmt.Errorf("decode document: %w", err)
	}
	for {
		tok, err := guard.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("after document: %w", err)
		}
		if cd, ok := tok.(xml.CharData); ok && len(xml.CharData(trimSpace(cd))) == 0 {
			continue
		}
		return fmt.Errorf("after document: unexpected %T", tok)
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}
