package main

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// errStreamError is a <stream:error/> from the server.
var errStreamError = errors.New("stream error from the server")

// maxMarkup bounds one incomplete markup construct (tag, comment, CDATA
// section, processing instruction) the scanner keeps between reads.
const maxMarkup = 1 << 20

// stanzaScanner finds the top-level <message/> stanzas in the server's
// byte stream without decoding it: xmpp-chat's receivers use it instead
// of a full XML decode, which cost more than the server under test. It
// tracks element depth (a stream header, also a restarted one, sets it to
// 1, so stanzas are its children), reads the id and type attributes of
// each top-level message start tag whatever their order and quote style,
// skips text, comments, CDATA sections and processing instructions, and
// keeps an incomplete construct for the next feed. It does not validate
// XML: it is fed what a server under test sent on an established stream.
type stanzaScanner struct {
	// message is called for every top-level <message/> start tag, with
	// the unescaped id and type; the slices are only valid during the call.
	message func(id, typ []byte)
	depth   int
	// ended is set at the server's end of stream.
	ended bool
	tail  []byte
	// unesc is reused for attribute values holding references.
	unesc []byte
}

// feed scans the next bytes of the stream. It returns errStreamError for
// a top-level <stream:error/> and an error for markup it cannot read;
// after either, or once ended, the rest of the stream is ignored.
func (s *stanzaScanner) feed(b []byte) error {
	if s.ended {
		return nil
	}
	if len(s.tail) > 0 {
		s.tail = append(s.tail, b...)
		b = s.tail
	}
	rest, err := s.scan(b)
	if err != nil {
		s.ended = true
		s.tail = s.tail[:0]
		return err
	}
	if len(rest) > maxMarkup {
		s.ended = true
		return fmt.Errorf("markup construct longer than %d bytes", maxMarkup)
	}
	if len(rest) <= len(s.tail) {
		// rest is a suffix of s.tail: move it to the front.
		s.tail = s.tail[:copy(s.tail, rest)]
	} else {
		s.tail = append(s.tail[:0], rest...)
	}
	return nil
}

// scan consumes complete constructs from b and returns the incomplete rest.
func (s *stanzaScanner) scan(b []byte) ([]byte, error) {
	for !s.ended {
		i := bytes.IndexByte(b, '<')
		if i < 0 {
			return nil, nil
		}
		b = b[i:]
		if len(b) < 2 {
			return b, nil
		}
		var n int
		var err error
		switch b[1] {
		case '?':
			n = skipPast(b, "?>")
		case '!':
			n, err = skipDecl(b)
		case '/':
			n = tagEnd(b)
			if n > 0 {
				if s.depth > 0 {
					s.depth--
				}
				s.ended = s.depth == 0
			}
		default:
			n = tagEnd(b)
			if n > 0 {
				err = s.startTag(b[1 : n-1])
			}
		}
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return b, nil
		}
		b = b[n:]
	}
	return nil, nil
}

// startTag handles the inside of a start tag (between < and >).
func (s *stanzaScanner) startTag(tag []byte) error {
	self := len(tag) > 0 && tag[len(tag)-1] == '/'
	if self {
		tag = tag[:len(tag)-1]
	}
	nameLen := 0
	for nameLen < len(tag) && !isSpace(tag[nameLen]) {
		nameLen++
	}
	if nameLen == 0 {
		return errors.New("start tag without a name")
	}
	prefix, local := splitName(tag[:nameLen])
	if len(prefix) > 0 && string(local) == "stream" {
		s.depth = 1
		s.ended = self // <stream:stream/> opens and closes at once
		return nil
	}
	if s.depth == 1 {
		switch {
		case string(local) == "message":
			id, typ, err := s.attrs(tag[nameLen:])
			if err != nil {
				return err
			}
			if s.message != nil {
				s.message(id, typ)
			}
		case len(prefix) > 0 && string(local) == "error":
			return errStreamError
		}
	}
	switch {
	case !self:
		s.depth++
	case s.depth == 0:
		// A whole element outside any stream: the "stream" is over.
		s.ended = true
	}
	return nil
}

// attrs returns the id and type attributes from a start tag's attribute
// list (unescaped; nil when absent).
func (s *stanzaScanner) attrs(a []byte) (id, typ []byte, err error) {
	s.unesc = s.unesc[:0]
	for {
		name, v, rest, err := nextAttr(a)
		if err != nil {
			return nil, nil, fmt.Errorf("%w in a message start tag", err)
		}
		if name == nil {
			return id, typ, nil
		}
		a = rest
		switch string(name) {
		case "id":
			if id, err = s.unescape(v); err != nil {
				return nil, nil, err
			}
		case "type":
			if typ, err = s.unescape(v); err != nil {
				return nil, nil, err
			}
		}
	}
}

// nextAttr splits the first attribute off a start tag's attribute list:
// its name, its raw (still escaped) value and the rest of the list. At
// the end of the list name is nil.
func nextAttr(a []byte) (name, val, rest []byte, err error) {
	for len(a) > 0 && isSpace(a[0]) {
		a = a[1:]
	}
	if len(a) == 0 {
		return nil, nil, nil, nil
	}
	eq := bytes.IndexByte(a, '=')
	if eq <= 0 {
		return nil, nil, nil, errors.New("malformed attribute")
	}
	name = bytes.TrimRight(a[:eq], " \t\r\n")
	a = a[eq+1:]
	for len(a) > 0 && isSpace(a[0]) {
		a = a[1:]
	}
	if len(a) == 0 || (a[0] != '\'' && a[0] != '"') {
		return nil, nil, nil, errors.New("unquoted attribute value")
	}
	end := bytes.IndexByte(a[1:], a[0])
	if end < 0 {
		return nil, nil, nil, errors.New("unterminated attribute value")
	}
	return name, a[1 : 1+end], a[end+2:], nil
}

// unescape resolves the character and predefined entity references in an
// attribute value; without any it returns v itself.
func (s *stanzaScanner) unescape(v []byte) ([]byte, error) {
	if bytes.IndexByte(v, '&') < 0 {
		if v == nil {
			return []byte{}, nil
		}
		return v, nil
	}
	start := len(s.unesc)
	var err error
	if s.unesc, err = appendUnescaped(s.unesc, v); err != nil {
		return nil, fmt.Errorf("%w in an attribute value", err)
	}
	return s.unesc[start:], nil
}

// appendUnescaped appends v to dst with its character and predefined
// entity references resolved.
func appendUnescaped(dst, v []byte) ([]byte, error) {
	for len(v) > 0 {
		amp := bytes.IndexByte(v, '&')
		if amp < 0 {
			return append(dst, v...), nil
		}
		dst = append(dst, v[:amp]...)
		v = v[amp+1:]
		semi := bytes.IndexByte(v, ';')
		if semi < 0 {
			return dst, errors.New("unterminated reference")
		}
		ref := v[:semi]
		v = v[semi+1:]
		switch string(ref) {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "apos":
			dst = append(dst, '\'')
		case "quot":
			dst = append(dst, '"')
		default:
			r, ok := charRef(ref)
			if !ok {
				return dst, fmt.Errorf("unknown reference &%s;", ref)
			}
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst, nil
}

// charRef decodes the inside of a character reference (#NN or #xHH).
func charRef(ref []byte) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	base, digits := 10, ref[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	if len(digits) == 0 || digits[0] == '+' || digits[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil || n > utf8.MaxRune || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}

// tagEnd returns the length of the tag at the start of b up to and
// including its '>' outside quoted attribute values, or -1 when b does not
// hold all of it.
func tagEnd(b []byte) int {
	var quote byte
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return -1
}

// skipDecl returns the length of the comment, CDATA section or other <!…>
// declaration at the start of b, or -1 when b does not hold all of it.
func skipDecl(b []byte) (int, error) {
	const comment, cdata = "<!--", "<![CDATA["
	switch {
	case bytes.HasPrefix(b, []byte(comment)):
		if n := bytes.Index(b[len(comment):], []byte("-->")); n >= 0 {
			return len(comment) + n + 3, nil
		}
		return -1, nil
	case bytes.HasPrefix(b, []byte(cdata)):
		if n := bytes.Index(b[len(cdata):], []byte("]]>")); n >= 0 {
			return len(cdata) + n + 3, nil
		}
		return -1, nil
	case len(b) < len(cdata) && (bytes.HasPrefix([]byte(cdata), b) || bytes.HasPrefix([]byte(comment), b)):
		return -1, nil
	}
	return tagEnd(b), nil
}

// skipPast returns the length of b up to and including the first end, or
// -1 when there is none.
func skipPast(b []byte, end string) int {
	if n := bytes.Index(b, []byte(end)); n >= 0 {
		return n + len(end)
	}
	return -1
}

// splitName splits a qualified name at its first colon.
func splitName(name []byte) (prefix, local []byte) {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return nil, name
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
