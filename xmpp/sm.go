package xmpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// nsSM is XEP-0198 Stream Management, version 3.
const nsSM = "urn:xmpp:sm:3"

// smEntry is one stanza sent and not yet acknowledged, with the hub event
// it came from (nil for the session's own replies).
type smEntry struct {
	seq uint32
	b   []byte
	ev  crosstalk.Event
}

// smState is a session's XEP-0198 state. The reader counts inbound
// stanzas (hIn) and takes acks; the writer counts outbound ones and keeps
// them until acknowledged; a resuming connection reads it under mu.
type smState struct {
	mu        sync.Mutex
	inOn      bool // counting inbound stanzas (reader)
	outOn     bool // counting outbound stanzas (writer, after <enabled/>)
	resumable bool
	id        string
	max       time.Duration
	hIn       uint32
	hOut      uint32
	unacked   []smEntry
	asked     bool // an <r/> is outstanding
}

// emit writes a stanza to buf and, with stream management on, keeps it
// until the client acknowledges it. Writer only.
func (s *session) emit(buf *bytes.Buffer, b []byte, ev crosstalk.Event) {
	buf.Write(b)
	s.sm.mu.Lock()
	if s.sm.outOn {
		s.sm.hOut++
		s.sm.unacked = append(s.sm.unacked, smEntry{seq: s.sm.hOut, b: bytes.Clone(b), ev: ev})
	}
	s.sm.mu.Unlock()
}

func (m *smState) start() {
	m.mu.Lock()
	m.outOn = true
	m.mu.Unlock()
}

func (m *smState) canResume() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.resumable
}

// wantAck reports whether to ask the client for an ack now.
func (m *smState) wantAck() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.outOn || m.asked || len(m.unacked) == 0 {
		return false
	}
	m.asked = true
	return true
}

// overflow reports a client that leaves more stanzas unacknowledged than
// its mailbox may hold.
func (m *smState) overflow(limit int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.unacked) > limit
}

// ack drops the stanzas the client has handled (h is its count, mod 2^32).
func (m *smState) ack(h uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked = false
	i := 0
	for i < len(m.unacked) && int32(h-m.unacked[i].seq) >= 0 {
		i++
	}
	m.unacked = append(m.unacked[:0], m.unacked[i:]...)
}

// unackedEvents returns the hub events of unacknowledged stanzas, or nil
// when stream management never counted.
func (m *smState) unackedEvents() []crosstalk.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.outOn {
		return nil
	}
	out := make([]crosstalk.Event, 0, len(m.unacked))
	for _, e := range m.unacked {
		if e.ev != nil {
			out = append(out, e.ev)
		}
	}
	m.unacked = nil
	return out
}

// resume prepares a resumed stream: the <resumed/> answer and the stanzas
// the client has not handled, to be sent again and counted anew from h.
func (m *smState) resume(h uint32) ([]byte, []smEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := 0
	for i < len(m.unacked) && int32(h-m.unacked[i].seq) >= 0 {
		i++
	}
	resend := append([]smEntry(nil), m.unacked[i:]...)
	m.unacked, m.hOut, m.asked = nil, h, false
	return []byte("<resumed xmlns='" + nsSM + "' h='" + strconv.FormatUint(uint64(m.hIn), 10) + "' previd='" + m.id + "'/>"), resend
}

// counted counts one inbound stanza. Reader only.
func (m *smState) counted() {
	m.mu.Lock()
	if m.inOn {
		m.hIn++
	}
	m.mu.Unlock()
}

type smEnable struct {
	Resume string `xml:"resume,attr"`
	Max    int    `xml:"max,attr"`
}

type smAck struct {
	H uint32 `xml:"h,attr"`
}

// smResume is a <resume/> request (XEP-0198 §5): the session to resume
// and the client's count of the stanzas it handled.
type smResume struct {
	PrevID string
	H      uint32
}

// resumeXML is the wire form of <resume/>, standalone or inside a XEP-0388
// <authenticate/>; h is read as text, so that a missing or non-numeric h
// is told from h='0'.
type resumeXML struct {
	PrevID string `xml:"previd,attr"`
	H      string `xml:"h,attr"`
}

// errMalformedResume is a <resume/> without previd or without a numeric
// h (an xs:unsignedInt in XEP-0198's schema): answered with <bad-request/>.
var errMalformedResume = errors.New("resume needs previd and a numeric h")

// request checks a <resume/>.
func (w *resumeXML) request() (smResume, error) {
	h, err := strconv.ParseUint(w.H, 10, 32)
	if err != nil || w.PrevID == "" {
		return smResume{}, errMalformedResume
	}
	return smResume{PrevID: w.PrevID, H: uint32(h)}, nil
}

// smFailed renders XEP-0198's <failed/> with a stanza error condition.
func smFailed(cond string) []byte {
	return []byte("<failed xmlns='" + nsSM + "'><" + cond + " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>")
}

// enableSM turns stream management on for inbound stanzas (and
// resumption if asked for) and returns the answer: <enabled/>, or
// <failed/> (ok false) when it is on already. Outbound counting starts
// once the answer is written (outItem.enableSM), or at once for Bind 2
// (bind2.go), whose answer precedes every stanza. Reader only.
func (s *session) enableSM(e smEnable) (answer []byte, ok bool) {
	s.sm.mu.Lock()
	if s.sm.inOn {
		s.sm.mu.Unlock()
		return smFailed("unexpected-request"), false
	}
	s.sm.inOn = true
	s.sm.id = newID() + newID()
	s.sm.max = s.srv.cfg.ResumeTimeout
	if e.Max > 0 && time.Duration(e.Max)*time.Second < s.sm.max {
		s.sm.max = time.Duration(e.Max) * time.Second
	}
	s.sm.resumable = (e.Resume == "true" || e.Resume == "1") && s.sm.max > 0
	out := "<enabled xmlns='" + nsSM + "'"
	if s.sm.resumable {
		out += " id='" + s.sm.id + "' resume='true' max='" + strconv.Itoa(int(s.sm.max/time.Second)) + "'"
	}
	out += "/>"
	resumable, id := s.sm.resumable, s.sm.id
	s.sm.mu.Unlock()
	if resumable {
		s.srv.rememberResumable(id, s)
	}
	return []byte(out), true
}

// onSM takes a stream-management nonza from the reader.
func (s *session) onSM(el element) error {
	switch el.start.Name.Local {
	case "enable":
		var e smEnable
		_ = xml.Unmarshal(el.raw, &e)
		answer, ok := s.enableSM(e)
		s.queue(outItem{b: answer, enableSM: ok})
	case "r":
		s.sm.mu.Lock()
		h, on := s.sm.hIn, s.sm.inOn
		s.sm.mu.Unlock()
		if on {
			s.queue(outItem{b: []byte("<a xmlns='" + nsSM + "' h='" + strconv.FormatUint(uint64(h), 10) + "'/>")})
		}
	case "a":
		var a smAck
		if err := xml.Unmarshal(el.raw, &a); err != nil {
			return newStreamError(condBadFormat, "ack without h")
		}
		s.sm.ack(a.H)
	default:
		return newStreamError(condUnsupportedStanza, "<"+el.start.Name.Local+"/> in "+nsSM)
	}
	return nil
}

// handover is a resuming connection offered to a detached session.
type handover struct {
	t *transport
	h uint32
	// released is closed when the session no longer uses t.
	released chan struct{}
	// refused is set, before released is closed, when the session ended
	// before taking t: the connection may go on negotiating.
	refused bool
	// wrap, when set, encloses the <resumed/> answer before it is written:
	// a resumption inside a XEP-0388 <authenticate/> answers with a
	// <success/> that carries it (sasl2.go).
	wrap func(resumed []byte) []byte
}

// offer hands a resuming connection to the session; false if the session
// has ended or another resumption is pending.
func (s *session) offer(ho *handover) bool {
	s.connMu.Lock()
	if s.ended {
		s.connMu.Unlock()
		return false
	}
	stale := s.t
	select {
	case s.resumeCh <- ho:
	default:
		s.connMu.Unlock()
		return false
	}
	s.connMu.Unlock()
	s.kick(stale) // a connection still attached is the stale one
	return true
}

// refuseResumptions marks the session ended for resumption and releases a
// connection offered too late, so that its goroutine does not wait forever.
func (s *session) refuseResumptions() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	s.ended = true
	select {
	case ho := <-s.resumeCh:
		ho.refused = true
		close(ho.released)
	default:
	}
}

// waitResume waits, detached, for a resuming connection; nil when the
// session ends or the resumption window passes.
func (s *session) waitResume() *handover {
	s.sm.mu.Lock()
	window := s.sm.max
	s.sm.mu.Unlock()
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case ho := <-s.resumeCh:
		return ho
	case <-s.done:
	case <-timer.C:
		s.Close(newStreamError(condConnectionTimeout, "not resumed in time"))
	}
	return nil
}

// rememberResumable registers a session under its resumption id.
func (srv *Server) rememberResumable(id string, s *session) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.resumable[id] = s
}

// forgetResumable drops an ended session from the resumption table.
func (srv *Server) forgetResumable(s *session) {
	s.sm.mu.Lock()
	id := s.sm.id
	s.sm.mu.Unlock()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.resumable[id] == s {
		delete(srv.resumable, id)
	}
}

// lookupResumable returns the session with a resumption id.
func (srv *Server) lookupResumable(id string) *session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.resumable[id]
}
