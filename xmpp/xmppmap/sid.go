package xmppmap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"

	"github.com/crosstalk-im/crosstalk"
)

// NSSID is the namespace of XEP-0359 unique and stable stanza ids.
const NSSID = "urn:xmpp:sid:0"

// appendStanzaID adds the room's <stanza-id/> (XEP-0359) to a groupchat
// message that has an archive id.
func appendStanzaID(inner []byte, m *crosstalk.Message) []byte {
	if m.StanzaID == "" || m.Type != crosstalk.MessageGroupchat {
		return inner
	}
	out := make([]byte, 0, len(inner)+96)
	out = append(out, inner...)
	return append(out, "<stanza-id xmlns='"+NSSID+"' id='"+Escape(m.StanzaID)+"' by='"+Escape(m.From.Bare().String())+"'/>"...)
}

// StripStanzaIDs removes from a serialised stanza every top-level
// <stanza-id/> (XEP-0359) whose by attribute is by: an entity that adds
// its own stanza ids must not relay ones that claim to be its own (XEP-0359
// §3.1). The stanza is returned unchanged when it has none; an error means
// it could not be read.
func StripStanzaIDs(stanza []byte, by string) ([]byte, error) {
	if !bytes.Contains(stanza, []byte(NSSID)) {
		return stanza, nil
	}
	s, err := ParseStanza(stanza)
	if err != nil {
		return nil, err
	}
	inner, changed, err := stripStanzaIDs(s.Inner, by)
	if err != nil || !changed {
		return stanza, err
	}
	s.Inner = inner
	return s.Bytes(), nil
}

// stripStanzaIDs cuts the matching top-level elements out of inner XML.
func stripStanzaIDs(inner []byte, by string) ([]byte, bool, error) {
	const open = "<w xmlns='jabber:client'>"
	doc := make([]byte, 0, len(inner)+len(open)+4)
	doc = append(doc, open...)
	doc = append(doc, inner...)
	doc = append(doc, "</w>"...)
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var cuts [][2]int64 // offsets into doc
	depth := 0
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Space == NSSID && t.Name.Local == "stanza-id" && attr(t.Attr, "by") == by {
				if err := dec.Skip(); err != nil {
					return nil, false, err
				}
				depth--
				cuts = append(cuts, [2]int64{before, dec.InputOffset()})
			}
		case xml.EndElement:
			depth--
		}
	}
	if len(cuts) == 0 {
		return inner, false, nil
	}
	out := make([]byte, 0, len(inner))
	prev := int64(len(open))
	for _, c := range cuts {
		out = append(out, doc[prev:c[0]]...)
		prev = c[1]
	}
	out = append(out, doc[prev:int64(len(doc))-int64(len("</w>"))]...)
	return out, true, nil
}

func attr(attrs []xml.Attr, local string) string {
	for _, a := range attrs {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
