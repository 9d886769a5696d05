package crosstalk

import "time"

// Account is one person on both protocols: the bare address is at once the
// XMPP JID and the SIP address of record.
type Account struct {
	// Address is the account's bare address.
	Address Address
	// Credentials holds only derived secrets, never the password.
	Credentials Credentials
	// Created is when the account was made.
	Created time.Time
}

// Credentials are what a server keeps to verify a password without knowing
// it: SCRAM salted keys (RFC 5802, RFC 7677) and SIP digest HA1 values
// (RFC 7616, RFC 8760). Nothing here is reversible to the password.
type Credentials struct {
	// SCRAMSHA1 verifies SCRAM-SHA-1 and SCRAM-SHA-1-PLUS.
	SCRAMSHA1 SCRAMKeys
	// SCRAMSHA256 verifies SCRAM-SHA-256 and SCRAM-SHA-256-PLUS.
	SCRAMSHA256 SCRAMKeys
	// Realm is the digest realm the HA1 values were computed under (the
	// account's domain).
	Realm string
	// HA1MD5 is hex(MD5(username:realm:password)).
	HA1MD5 string
	// HA1SHA256 is hex(SHA-256(username:realm:password)).
	HA1SHA256 string
}

// SCRAMKeys are the salted keys of one SCRAM hash (RFC 5802 §3).
type SCRAMKeys struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}
