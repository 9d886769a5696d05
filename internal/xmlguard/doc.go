// Package xmlguard puts limits around encoding/xml for every XML input the
// server reads: XMPP streams (c2s, s2s, WebSocket), XCAP documents and PIDF
// bodies.
//
// encoding/xml does not expand entities and rejects invalid UTF-8, but its
// Token method has no depth limit, passes DTDs, comments and processing
// instructions through, and buffers a whole text node or attribute list. The
// guard adds what RFC 6120 §11.1 and §13.12 ask of a server:
//
//   - a byte budget per unit (a stanza or a document), counted on the
//     underlying reader and reset when a unit ends ([Budget]);
//   - caps on element depth and attributes per element;
//   - refusal of directives (DOCTYPE), comments and processing instructions
//     ([ErrRestrictedXML]).
//
// Typical use on a stream, where stanzas are the children of the stream
// element (depth 1):
//
//	budget := xmlguard.NewBudget(conn, 256<<10)
//	dec := xml.NewDecoder(budget)
//	tokens := xmlguard.NewReader(dec, xmlguard.Limits{MaxDepth: 32, MaxAttrs: 64}, budget, 1)
//
// and for a document such as a PIDF body:
//
//	err := xmlguard.Decode(body, xmlguard.DocumentLimits(64<<10), &v)
package xmlguard
