package xmppmap

import (
	"bytes"
	"testing"
)

// FuzzStanza checks that a parsed stanza re-serialises to bytes that parse
// to the same stanza (name, attributes, inner XML), and that the message
// and presence mappings never panic and map the re-serialised form alike.
func FuzzStanza(f *testing.F) {
	f.Add([]byte(`<message to='b@example.com' type='chat'><body>hi</body></message>`))
	f.Add([]byte(`<presence xml:lang='en'><show>dnd</show><priority>-1</priority></presence>`))
	f.Add([]byte(`<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>`))
	f.Add([]byte(`<message><body xmlns='urn:x'>no</body><body>a<b>x</b>&lt;<![CDATA[c]]></body><body>second</body><subject/><thread parent='p'>t</thread></message>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseStanza(raw)
		if err != nil {
			return
		}
		again, err := ParseStanza(s.Bytes())
		if err != nil {
			t.Fatalf("re-serialised stanza does not parse: %v\n%s", err, s.Bytes())
		}
		if again.Name != s.Name || !bytes.Equal(again.Bytes(), s.Bytes()) {
			t.Fatalf("round trip differs:\n%s\n%s", s.Bytes(), again.Bytes())
		}
		switch s.Name {
		case "message":
			m1, err1 := ToMessage(&s)
			m2, err2 := ToMessage(&again)
			if (err1 == nil) != (err2 == nil) || m1.Body != m2.Body || m1.To != m2.To {
				t.Fatalf("message mapping differs: %v %v", err1, err2)
			}
			if err1 == nil {
				body, subject, thread, err := childTexts(&s)
				if err != nil || m1.Body != body || m1.Subject != subject || m1.Thread != thread {
					t.Fatalf("one-pass texts %q %q %q, from Children and Text %q %q %q (%v)", m1.Body, m1.Subject, m1.Thread, body, subject, thread, err)
				}
			}
			if err1 == nil {
				m1.Native.Payload = nil
				rebuilt, err := ParseStanza(FromMessage(&m1))
				if err != nil {
					t.Fatalf("built message does not parse: %v", err)
				}
				m3, err := ToMessage(&rebuilt)
				if err != nil || m3.Body != m1.Body || m3.Subject != m1.Subject || m3.Thread != m1.Thread || m3.ID != m1.ID {
					t.Fatalf("fields lost: %+v vs %+v (%v)", m3, m1, err)
				}
			}
		case "presence":
			p1, err1 := ToPresence(&s)
			p2, err2 := ToPresence(&again)
			if (err1 == nil) != (err2 == nil) || p1.Show != p2.Show || p1.Status != p2.Status {
				t.Fatalf("presence mapping differs: %v %v", err1, err2)
			}
		}
	})
}

// FuzzRosterQuery checks that a parsed roster set renders to items that
// parse back to the same contacts, names and groups.
func FuzzRosterQuery(f *testing.F) {
	f.Add([]byte(`<query xmlns='jabber:iq:roster'><item jid='b@example.com' name='B &amp; B'><group>Friends</group></item></query>`))
	f.Add([]byte(`<query xmlns='jabber:iq:roster' ver='7'><item jid='c@example.com' subscription='remove'/></query>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, items, err := ParseRosterQuery(raw)
		if err != nil {
			return
		}
		var b bytes.Buffer
		b.WriteString("<query xmlns='jabber:iq:roster'>")
		for _, it := range items {
			RosterItem(&b, it.Item, it.Remove)
		}
		b.WriteString("</query>")
		_, again, err := ParseRosterQuery(b.Bytes())
		if err != nil {
			t.Fatalf("rendered roster does not parse: %v\n%s", err, b.Bytes())
		}
		if len(again) != len(items) {
			t.Fatalf("%d items became %d", len(items), len(again))
		}
		for i := range items {
			x, y := items[i], again[i]
			if x.Item.Contact != y.Item.Contact || x.Item.Name != y.Item.Name || x.Remove != y.Remove || len(x.Item.Groups) != len(y.Item.Groups) {
				t.Fatalf("item %d: %+v became %+v", i, x, y)
			}
			for j := range x.Item.Groups {
				if x.Item.Groups[j] != y.Item.Groups[j] {
					t.Fatalf("group %q became %q", x.Item.Groups[j], y.Item.Groups[j])
				}
			}
		}
	})
}

// childTexts is ToMessage's body, subject and thread the long way: every
// child decoded by Children, each text by Text.
func childTexts(s *Stanza) (body, subject, thread string, err error) {
	children, err := s.Children()
	if err != nil {
		return "", "", "", err
	}
	var seenBody, seenSubject, seenThread bool
	for i := range children {
		c := &children[i]
		if c.XMLName.Space != NSClient {
			continue
		}
		switch {
		case c.XMLName.Local == "body" && !seenBody:
			body, seenBody = c.Text(), true
		case c.XMLName.Local == "subject" && !seenSubject:
			subject, seenSubject = c.Text(), true
		case c.XMLName.Local == "thread" && !seenThread:
			thread, seenThread = c.Text(), true
		}
	}
	return body, subject, thread, nil
}
