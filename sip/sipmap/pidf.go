package sipmap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crosstalk-im/crosstalk"
)

// PIDF namespaces and media type (RFC 3863, RFC 4479, RFC 4480).
const (
	// NSPIDF is the PIDF namespace (RFC 3863 §4.1).
	NSPIDF = "urn:ietf:params:xml:ns:pidf"
	// NSDataModel is the namespace of the presence data model (RFC 4479 §4).
	NSDataModel = "urn:ietf:params:xml:ns:pidf:data-model"
	// NSRPID is the rich presence namespace (RFC 4480 §3).
	NSRPID = "urn:ietf:params:xml:ns:pidf:rpid"
	// PIDFContentType is the media type of a PIDF body (RFC 3863 §7).
	PIDFContentType = "application/pidf+xml"
)

// ErrNotPIDF reports a document that is not usable PIDF: no entity, or an
// entity that is no sip:, sips: or pres: URI of an account.
var ErrNotPIDF = errors.New("not a usable PIDF document")

// The RPID activities that RFC 8048 maps onto the XMPP <show/> values.
const (
	activityAway = "away"
	activityBusy = "busy"
)

// PIDF is a PIDF document (RFC 3863) as decoded from a PUBLISH or NOTIFY
// body, with the RFC 4479 person element and its RPID activities (RFC 4480).
// Decode it with internal/xmlguard (byte budget, depth, no DTD), then map it
// with PresenceFromPIDF; the struct keeps only what that mapping reads.
type PIDF struct {
	XMLName xml.Name     `xml:"urn:ietf:params:xml:ns:pidf presence"`
	Entity  string       `xml:"entity,attr"`
	Tuples  []PIDFTuple  `xml:"urn:ietf:params:xml:ns:pidf tuple"`
	Notes   []string     `xml:"urn:ietf:params:xml:ns:pidf note"`
	Persons []PIDFPerson `xml:"urn:ietf:params:xml:ns:pidf:data-model person"`
}

// PIDFTuple is one <tuple/>: a service of the presentity (RFC 4479 §3.1).
type PIDFTuple struct {
	ID     string     `xml:"id,attr"`
	Status PIDFStatus `xml:"urn:ietf:params:xml:ns:pidf status"`
	// Notes are the tuple's <note/> elements.
	Notes     []string `xml:"urn:ietf:params:xml:ns:pidf note"`
	Timestamp string   `xml:"urn:ietf:params:xml:ns:pidf timestamp"`
}

// PIDFStatus is a tuple's <status/>: <basic/> and, as early RPID users put
// them, <activities/>.
type PIDFStatus struct {
	Basic      string          `xml:"urn:ietf:params:xml:ns:pidf basic"`
	Activities *RPIDActivities `xml:"urn:ietf:params:xml:ns:pidf:rpid activities"`
}

// PIDFPerson is the RFC 4479 <dm:person/> element.
type PIDFPerson struct {
	ID         string           `xml:"id,attr"`
	Activities []RPIDActivities `xml:"urn:ietf:params:xml:ns:pidf:rpid activities"`
	Notes      []string         `xml:"urn:ietf:params:xml:ns:pidf:data-model note"`
	Timestamp  string           `xml:"urn:ietf:params:xml:ns:pidf:data-model timestamp"`
}

// RPIDActivities is <rpid:activities/> (RFC 4480 §3.2): its child elements
// name the activities.
type RPIDActivities struct {
	Items []struct {
		XMLName xml.Name
	} `xml:",any"`
}

// has reports whether the activities name an RPID activity.
func (a *RPIDActivities) has(name string) bool {
	if a == nil {
		return false
	}
	for _, it := range a.Items {
		if it.XMLName.Space == NSRPID && it.XMLName.Local == name {
			return true
		}
	}
	return false
}

// ShowActivity returns the RPID activity that RFC 8048 (XMPP to SIP) maps
// an XMPP <show/> value onto: away and xa become <away/>, dnd becomes
// <busy/>, and chat and plain available carry no activity (their
// <basic>open</basic> says it all). It returns "" for no activity.
func ShowActivity(s crosstalk.Show) string {
	switch s {
	case crosstalk.ShowAway, crosstalk.ShowXA:
		return activityAway
	case crosstalk.ShowDND:
		return activityBusy
	default:
		return ""
	}
}

// activityShow is the reverse mapping of RFC 8048 (SIP to XMPP): <busy/>
// becomes dnd, <away/> away; any other activity leaves plain available.
// <busy/> wins when both are present, being the stronger request.
func activityShow(a *RPIDActivities) crosstalk.Show {
	switch {
	case a.has(activityBusy):
		return crosstalk.ShowDND
	case a.has(activityAway):
		return crosstalk.ShowAway
	default:
		return crosstalk.ShowNone
	}
}

// NormalizeShow returns the show value that survives a trip through PIDF:
// what ShowActivity and PresenceFromPIDF make of s (xa comes back as away,
// chat as plain available).
func NormalizeShow(s crosstalk.Show) crosstalk.Show {
	switch ShowActivity(s) {
	case activityAway:
		return crosstalk.ShowAway
	case activityBusy:
		return crosstalk.ShowDND
	default:
		return crosstalk.ShowNone
	}
}

// PresenceFromPIDF maps a decoded PIDF document to a core presence (RFC
// 8048, SIP to XMPP): From is the entity as a bare address; the presence is available when
// any tuple's <basic/> is open and unavailable otherwise; the show comes
// from the person's RPID activities (or, failing those, a tuple's), and the
// status from the first note of the open tuple, the document, or the person;
// Time from the open tuple's timestamp when it parses. Native is left for the
// caller, who has the raw body.
func PresenceFromPIDF(doc *PIDF) (crosstalk.Presence, error) {
	from, err := entityAddress(doc.Entity)
	if err != nil {
		return crosstalk.Presence{}, err
	}
	p := crosstalk.Presence{From: from, Type: crosstalk.PresenceUnavailable}
	var chosen *PIDFTuple
	for i := range doc.Tuples {
		t := &doc.Tuples[i]
		if strings.TrimSpace(t.Status.Basic) == "open" {
			chosen, p.Type = t, crosstalk.PresenceAvailable
			break
		}
		if chosen == nil {
			chosen = t
		}
	}
	var notes []string
	if chosen != nil {
		notes = append(notes, chosen.Notes...)
		if ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(chosen.Timestamp)); err == nil {
			p.Time = ts
		}
	}
	notes = append(notes, doc.Notes...)
	var acts *RPIDActivities
	for i := range doc.Persons {
		notes = append(notes, doc.Persons[i].Notes...)
		if acts == nil && len(doc.Persons[i].Activities) > 0 {
			acts = &doc.Persons[i].Activities[0]
		}
	}
	if acts == nil && chosen != nil {
		acts = chosen.Status.Activities
	}
	if len(notes) > 0 {
		p.Status = notes[0]
	}
	if p.Available() {
		p.Show = activityShow(acts)
	}
	return p, nil
}

// entityAddress maps the entity URI: sip:, sips: or pres: (RFC 3859 §3).
func entityAddress(entity string) (crosstalk.Address, error) {
	entity = strings.TrimSpace(entity)
	if entity == "" {
		return crosstalk.Address{}, fmt.Errorf("%w: no entity", ErrNotPIDF)
	}
	if scheme, rest, ok := strings.Cut(entity, ":"); ok && strings.EqualFold(scheme, "pres") {
		entity = "sip:" + rest
	}
	a, err := crosstalk.ParseSIPURI(entity)
	if err != nil {
		return crosstalk.Address{}, fmt.Errorf("%w: entity: %w", ErrNotPIDF, err)
	}
	if a.Local() == "" {
		return crosstalk.Address{}, fmt.Errorf("%w: entity names no account", ErrNotPIDF)
	}
	return a, nil
}

// RenderPIDF renders p as the PIDF document of entity (RFC 3863) in the data
// model of RFC 4479, mapped as RFC 8048 says: one tuple for the endpoint
// (its id derived from the resource) with <basic>open</basic> for available
// and <basic>closed</basic> otherwise, the status as the tuple's <note/>,
// the time as its <timestamp/>, and for away, xa and dnd a <dm:person/> with
// the RPID activity of ShowActivity. Text that XML cannot carry (control
// characters, invalid UTF-8) becomes U+FFFD, as XMLText does.
func RenderPIDF(entity crosstalk.Address, p *crosstalk.Presence) ([]byte, error) {
	uri, err := entity.Bare().SIPURI()
	if err != nil || entity.Local() == "" {
		return nil, fmt.Errorf("pidf for %q: %w: %w", entity, crosstalk.ErrUnmappable, err)
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<presence xmlns="` + NSPIDF + `" xmlns:dm="` + NSDataModel + `" xmlns:rpid="` + NSRPID + `" entity="`)
	b.WriteString(XMLText(uri))
	b.WriteString("\">\n")
	id := tupleID(p.From.Resource())
	basic := "closed"
	if p.Available() {
		basic = "open"
	}
	b.WriteString(` <tuple id="` + id + `">` + "\n")
	b.WriteString(`  <status><basic>` + basic + `</basic></status>` + "\n")
	if p.Status != "" {
		b.WriteString(`  <note>` + XMLText(p.Status) + `</note>` + "\n")
	}
	if !p.Time.IsZero() {
		b.WriteString(`  <timestamp>` + p.Time.UTC().Format(time.RFC3339Nano) + `</timestamp>` + "\n")
	}
	b.WriteString(" </tuple>\n")
	if act := ShowActivity(p.Show); act != "" && p.Available() {
		b.WriteString(` <dm:person id="p` + id[1:] + `">` + "\n")
		b.WriteString(`  <rpid:activities><rpid:` + act + `/></rpid:activities>` + "\n")
		b.WriteString(" </dm:person>\n")
	}
	b.WriteString("</presence>\n")
	return []byte(b.String()), nil
}

// tupleID derives an xs:ID (an NCName) from a resource, stable for the
// same resource (RFC 8048 maps the resource to the tuple id; a resource can
// hold characters an NCName cannot, so it is hashed).
func tupleID(resource string) string {
	sum := sha256.Sum256([]byte(resource))
	return "t" + hex.EncodeToString(sum[:6])
}

// XMLText escapes s for XML character data or a quoted attribute, replacing
// invalid UTF-8 and characters XML 1.0 forbids (RFC 3470 §4.4: control
// characters other than tab, LF and CR) with U+FFFD; CR is kept as &#xD;.
func XMLText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(CleanXMLText(s)))
	return b.String()
}

// CleanXMLText returns s with invalid UTF-8 and the characters XML 1.0
// cannot carry replaced by U+FFFD: what a trip through an XML document makes
// of a string.
func CleanXMLText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if isXMLChar(r) {
			return r
		}
		return utf8.RuneError
	}, s)
}

// isXMLChar reports whether r is a Char of XML 1.0 §2.2.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
