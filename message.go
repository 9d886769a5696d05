package crosstalk

import "time"

// Protocol names the protocol a payload or endpoint speaks.
type Protocol uint8

// Protocols an endpoint can speak.
const (
	ProtocolNone Protocol = iota
	ProtocolXMPP
	ProtocolSIP
	ProtocolAPI
)

// String returns the protocol's lower-case name.
func (p Protocol) String() string {
	switch p {
	case ProtocolXMPP:
		return "xmpp"
	case ProtocolSIP:
		return "sip"
	case ProtocolAPI:
		return "api"
	default:
		return "none"
	}
}

// Native is an original payload carried beside the translated fields, so that
// traffic between endpoints of the same protocol loses nothing: every XMPP
// extension element, every SIP body type.
type Native struct {
	Protocol Protocol
	// ContentType is the MIME type of a SIP body; empty for XMPP.
	ContentType string
	// Payload is the raw bytes: a serialised stanza or a SIP body.
	Payload []byte
}

// IsZero reports whether there is no native payload.
func (n Native) IsZero() bool { return n.Protocol == ProtocolNone && len(n.Payload) == 0 }

// MessageType is the kind of a message (RFC 6121 §5.2.2).
type MessageType uint8

// Message types.
const (
	MessageNormal MessageType = iota
	MessageChat
	MessageGroupchat
	MessageHeadline
	MessageError
)

// String returns the RFC 6121 name.
func (t MessageType) String() string {
	switch t {
	case MessageChat:
		return "chat"
	case MessageGroupchat:
		return "groupchat"
	case MessageHeadline:
		return "headline"
	case MessageError:
		return "error"
	default:
		return "normal"
	}
}

// ParseMessageType parses an RFC 6121 message type; unknown values are normal
// (RFC 6121 §5.2.2).
func ParseMessageType(s string) MessageType {
	switch s {
	case "chat":
		return MessageChat
	case "groupchat":
		return MessageGroupchat
	case "headline":
		return MessageHeadline
	case "error":
		return MessageError
	default:
		return MessageNormal
	}
}

// Message is one message between addresses, on any protocol.
type Message struct {
	ID      string
	From    Address
	To      Address
	Type    MessageType
	Body    string
	Subject string
	Thread  string
	// Lang is the language of Body (xml:lang, Content-Language).
	Lang string
	// Time is when the server first accepted the message.
	Time time.Time
	// Delayed marks a message delivered later than it was sent: from the
	// offline queue or a room's history. Frontends mark it with Time
	// (XEP-0203 delayed delivery).
	Delayed bool
	// Native is the original payload, kept for same-protocol delivery.
	Native Native
	// Error is set on a message of type MessageError: why the message
	// with the same ID could not be delivered.
	Error *DeliveryError
	// SentCopy marks a copy of a message the recipient's own account sent
	// from an endpoint of another protocol (alice's phone): the hub hands
	// it to her other endpoints so they see her side of the conversation
	// (XEP-0280 sent carbons for XMPP). To is then the original recipient,
	// not the endpoint it is delivered to.
	SentCopy bool
	// ReceivedCopy marks a copy of a message the recipient's own account
	// received on endpoints of another protocol only (a bare message the
	// routing policy gave to alice's phone): the hub hands it to her
	// endpoints of the other protocols that take copies (XEP-0280 received
	// carbons for XMPP). To is then the original recipient.
	ReceivedCopy bool
	// StanzaID is the id of a groupchat message in its room's archive, set
	// by the room service on live and history messages (XEP-0359
	// <stanza-id/> by the room, From's bare address); empty otherwise.
	StanzaID string
}

// Size estimates the bytes the message holds, for queue budgets.
func (m *Message) Size() int {
	return len(m.ID) + len(m.Body) + len(m.Subject) + len(m.Thread) + len(m.Lang) + len(m.Native.Payload) + len(m.Native.ContentType) + 64
}

// DeliveryError says why a message could not be delivered. It rides on a
// message of type MessageError that goes back to the sender, and it is an
// error a frontend can answer a request with. Condition is one of the
// defined conditions of RFC 6120 §8.3.3 ("recipient-unavailable",
// "item-not-found", …): RFC 7247 §6 makes that vocabulary the pivot between
// SIP response codes and XMPP stanza errors, so each frontend maps it to
// its own protocol in one table.
type DeliveryError struct {
	// Condition is an RFC 6120 §8.3.3 defined condition.
	Condition string
	// Type is the RFC 6120 §8.3.2 error type: cancel, continue, modify,
	// auth or wait.
	Type string
	// Text is a human-readable reason (a SIP reason phrase, say); may be
	// empty.
	Text string
}

// Error describes the condition and the reason.
func (e *DeliveryError) Error() string {
	if e.Text != "" {
		return "delivery failed: " + e.Condition + " (" + e.Text + ")"
	}
	return "delivery failed: " + e.Condition
}
