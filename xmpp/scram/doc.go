// Package scram is a server for the SASL SCRAM mechanisms of RFC 5802 and
// RFC 7677 (SCRAM-SHA-1, SCRAM-SHA-256) and their channel-binding variants
// (-PLUS) with the tls-exporter (RFC 9266) and tls-server-end-point
// (RFC 5929 §4) binding types, verifying against stored salted keys
// (crosstalk.SCRAMKeys) so that the server never knows a password.
//
// mellium.im/sasl's server cannot be used here: it wants the salted password
// rather than StoredKey/ServerKey, and it panics on -PLUS.
//
// A Server is one exchange and is used by one goroutine:
//
//	s := scram.New(scram.SHA256, false, cb, lookup)
//	challenge, err := s.Step(clientFirst)   // server-first-message
//	outcome, err := s.Step(clientFinal)     // server-final-message (v=…)
//	if s.Done() { user := s.Username() }
package scram
