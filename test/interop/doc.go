// Package interop drives the built crosstalk binary from outside with real,
// independently written peers from Debian (../shared/PEERS.md): slixmpp and
// go-sendxmpp for XMPP, sipp and baresip for SIP. Each test starts its own
// server on loopback ports with a temporary data directory
// (harness_test.go). The ctload smoke tests (ctload_*_test.go) also start
// the reference servers Prosody, ejabberd and Kamailio with the bench/
// configurations. A peer that is missing fails the test; it never skips.
// .ci/run installs the peers. The slixmpp scripts under testdata share
// testdata/slixmpp_common.py: the SCRAM channel-binding work-around for
// slixmpp 1.8.3, a client base whose login wait is bounded, and the
// bounded runner.
package interop
