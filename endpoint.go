package crosstalk

// Endpoint is one live session bound to the hub: an XMPP stream, a SIP
// registration binding, an API event stream.
type Endpoint interface {
	// Protocol returns the protocol the endpoint speaks.
	Protocol() Protocol
	// Deliver queues an event for the endpoint. It must not block: when the
	// endpoint's bounded queue is full it returns ErrSlowConsumer, and the
	// hub unbinds it and keeps what it could not take. It returns
	// ErrEndpointClosed after the endpoint has gone.
	Deliver(Event) error
	// Close ends the endpoint with a reason; the hub calls it on resource
	// conflicts, deleted accounts, slow consumers and shutdown. It must not
	// block and must not call back into the hub.
	Close(reason error)
}
