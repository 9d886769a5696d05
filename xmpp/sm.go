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

// tooHigh reports a count of handled stanzas (h, from an <a/> or a
// <resume/>) beyond what the server has sent (sent, its outbound count):
// both count modulo 2^32 (XEP-0198 §4), so h is too high when it is ahead
// of sent in serial-number arithmetic (RFC 1982), i.e. 1 to 2^31-1 past
// it. An h at or behind sent, even one below an earlier ack, is taken.
func tooHigh(h, sent uint32) bool { return int32(h-sent) > 0 }

// errAckTooHigh is the stream error for an <a/> that acknowledges more
// stanzas than were sent (XEP-0198 §6, "Error Handling"): undefined-condition
// with XEP-0198's <handled-count-too-high/>.
func errAckTooHigh(h, sent uint32) error {
	hs, ss := strconv.FormatUint(uint64(h), 10), strconv.FormatUint(uint64(sent), 10)
	return &streamError{
		cond: condUndefined,
		text: "You acknowledged " + hs + " stanzas, but I only sent you " + ss + " so far.",
		app:  handledCountTooHigh(h, sent),
	}
}

// handledCountTooHigh renders XEP-0198's <handled-count-too-high/>.
func handledCountTooHigh(h, sent uint32) string {
	return "<handled-count-too-high xmlns='" + nsSM + "' h='" + strconv.FormatUint(uint64(h), 10) +
		"' send-count='" + strconv.FormatUint(uint64(sent), 10) + "'/>"
}

// handled returns the count of stanzas the server handled from the client
// (what <a/>, <resumed/> and <failed/> report as h).
func (m *smState) handled() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hIn
}

// checkResume checks the h of a <resume/> against what the session sent.
// It returns nil when the session may be resumed with it, else the
// <failed/> to answer (the session is left as it is): undefined-condition
// with <handled-count-too-high/>, and the server's own count as h. The
// outbound count only grows until a resumption, so an h found acceptable
// here stays so until the session takes the connection.
func (m *smState) checkResume(h uint32) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !tooHigh(h, m.hOut) {
		return nil
	}
	return smFailedH(condUndefined, m.hIn, handledCountTooHigh(h, m.hOut))
}

// ack drops the stanzas the client has handled (h is its count, mod 2^32).
// An h beyond what was sent is refused with the stream error that ends
// the session, and drops nothing: the unacknowledged stanzas go back to
// the hub with the session's leftovers.
func (m *smState) ack(h uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if tooHigh(h, m.hOut) {
		return errAckTooHigh(h, m.hOut)
	}
	m.asked = false
	i := 0
	for i < len(m.unacked) && int32(h-m.unacked[i].seq) >= 0 {
		i++
	}
	m.unacked = append(m.unacked[:0], m.unacked[i:]...)
	return nil
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

// smFailedH renders a <failed/> for a <resume/> of a session the server
// knows: h is the count of stanzas it handled from the client (XEP-0198
// §5), and app, if not "", an application-specific condition after the
// stanza error condition.
func smFailedH(cond string, h uint32, app string) []byte {
	return []byte("<failed xmlns='" + nsSM + "' h='" + strconv.FormatUint(uint64(h), 10) + "'><" + cond +
		" xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" + app + "</failed>")
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
		return s.sm.ack(a.H)
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
	// failed, set before released is closed, is the <failed/> of a
	// resumption the session refused (refuseTooHigh): the connection may
	// go on negotiating.
	failed []byte
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

// refuseTooHigh refuses a resuming connection whose h acknowledges more
// than the session sent, and releases it untouched with the <failed/>;
// the session goes on waiting. takeOver checks h before offering the
// connection; this is for an h that another resumption made too high in
// between (two resumptions racing with different counts), so that no
// unacknowledged stanza is dropped as handled.
func (s *session) refuseTooHigh(ho *handover) bool {
	failed := s.sm.checkResume(ho.h)
	if failed == nil {
		return false
	}
	ho.failed = failed
	close(ho.released)
	return true
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

// forgetResumable drops an ended session from the resumption table and
// keeps its count of handled stanzas for a <failed/> (smEnded).
func (srv *Server) forgetResumable(s *session) {
	s.sm.mu.Lock()
	id, h := s.sm.id, s.sm.hIn
	s.sm.mu.Unlock()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.resumable[id] == s {
		delete(srv.resumable, id)
		srv.ended.add(id, s.addr.Bare(), h, srv.now(), srv.cfg.ResumeTimeout)
	}
}

// endedCount returns the count of handled stanzas of the ended session
// with a resumption id, if it was owner's and ended recently (smEnded).
func (srv *Server) endedCount(id string, owner crosstalk.Address) (uint32, bool) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.ended.count(id, owner, srv.now())
}

// maxEndedSM bounds how many ended sessions smEnded remembers.
const maxEndedSM = 4096

// smEnded remembers, for ResumeTimeout after a resumable session ended
// (timed out, closed, replaced), the count of stanzas the server handled
// from its client, so that a late <resume/> fails with it as h (XEP-0198
// §5: "the server MAY also include a 'h' attribute indicating the number
// of stanzas received before the timeout"); the client then knows which
// of its stanzas to send again. At most maxEndedSM sessions, the oldest
// forgotten first. Guarded by Server.mu.
type smEnded struct {
	byID  map[string]endedSM
	order []string // ids by end time, oldest first
}

// endedSM is an ended session in smEnded.
type endedSM struct {
	owner crosstalk.Address
	h     uint32
	until time.Time
}

func (e *smEnded) add(id string, owner crosstalk.Address, h uint32, now time.Time, keep time.Duration) {
	if keep <= 0 || id == "" {
		return
	}
	if e.byID == nil {
		e.byID = make(map[string]endedSM)
	}
	for len(e.order) > 0 && (len(e.order) >= maxEndedSM || now.After(e.byID[e.order[0]].until)) {
		delete(e.byID, e.order[0])
		e.order = e.order[1:]
	}
	e.byID[id] = endedSM{owner: owner, h: h, until: now.Add(keep)}
	e.order = append(e.order, id)
}

func (e *smEnded) count(id string, owner crosstalk.Address, now time.Time) (uint32, bool) {
	s, ok := e.byID[id]
	if !ok || s.owner != owner || now.After(s.until) {
		return 0, false
	}
	return s.h, true
}

// lookupResumable returns the session with a resumption id.
func (srv *Server) lookupResumable(id string) *session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.resumable[id]
}
