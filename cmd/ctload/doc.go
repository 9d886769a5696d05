// Command ctload is Crosstalk's load generator. It drives any XMPP server
// (RFC 6120/6121: STARTTLS, SCRAM, bind, roster, presence, chat) and any
// SIP registrar/proxy (RFC 3261 over UDP, TCP or TLS, digest per RFC 8760)
// on loopback
// — Crosstalk, Prosody, ejabberd, Kamailio — with the same client code the
// tests use (mellium for XMPP, sipgo for SIP; xmpp-login and xmpp-chat's
// messages go raw, see below), and reports rates,
// latency percentiles and, given the server's pid, the server's CPU time
// per operation and memory per session from /proc.
//
// Usage:
//
//	ctload [flags] SCENARIO [flags]
//
// Scenarios:
//
//	xmpp-login    TCP + STARTTLS + SCRAM-SHA-256 (else SHA-1) + bind + roster get
//	              + initial presence, then close; logins/s and p50/p99 of the
//	              "login" phase, after a "warm-up" phase of one login per
//	              account (-warmup, on by default: each client's first
//	              login, which fills what it keeps between logins —
//	              SaltedPassword, TLS tickets, FAST tokens). With
//	              -sasl2: SCRAM in a XEP-0388 <authenticate/> with a XEP-0386
//	              Bind 2 request (no stream restart, no bind IQ); a login
//	              counts only with the server signature checked and <bound/>
//	              with a full JID in the <success/>. With -fast (implies
//	              -sasl2): an account's first login asks for a XEP-0484
//	              token, later ones log in with it (HT-SHA-256-NONE, the
//	              server's HT responder message checked); rotated tokens
//	              are kept, a refused one is dropped. With -direct-tls,
//	              -xmpp is a XEP-0368 port: TLS at once, no STARTTLS. With
//	              -tls-resume, the client keeps the server's TLS 1.3 session
//	              tickets and resumes with them (PSK with ECDHE; no
//	              certificate sent or checked), as a reconnecting client
//	              does. -tls-groups chooses the key exchanges offered (Go's
//	              default adds an X25519MLKEM768 share, ~50 µs of ctload CPU
//	              a login, wasted on a server that does not take it). With
//	              -quickstart (implies -sasl2), once a login has found
//	              SASL2 and Bind 2 offered, later logins send their
//	              <authenticate/> right behind the stream header without
//	              waiting for the features, as a client that remembers the
//	              server from its last login can; the note counts them
//	xmpp-tls      xmpp-login's steps up to the end of the TLS handshake
//	              (TCP, STARTTLS or with -direct-tls TLS at once, a full
//	              handshake with the certificate checked), then
//	              close_notify and close: the part of a login no SASL or
//	              bind is in, so the most xmpp-login can reach against a
//	              server on the same cores; rate, p50/p99 and server CPU
//	xmpp-chat     -c pairs (accounts 2k, 2k+1) log in and exchange -n messages;
//	              msgs/s and latency matched by stanza id (see below)
//	xmpp-idle     hold -n authenticated TLS sessions for -hold; with -pid the
//	              server's RSS per session (VmRSS before vs after)
//	xmpp-presence sessions in full-mesh groups of -contacts+1 subscribe to each
//	              other, then change status -n times; deliveries/s and fan-out
//	              latency matched by status text
//	muc           -occupants sessions (one account each) join one room on -muc
//	              (XEP-0045; default conference.DOMAIN); fan-out: -fanout times
//	              one message into the full room, time to the last delivery;
//	              busy room: -senders occupants send for -busy (8 in flight
//	              each), messages/s delivered to all and deliveries/s
//	sip-register  REGISTER, 401, REGISTER with digest (SHA-256 or MD5, as
//	              challenged), 200; rate and p50/p99
//	sip-message   -c pairs register, then MESSAGE through the server to the
//	              peer user agent; rate and latency to the 2xx
//	cross         -c pairs of an XMPP session and a SIP user agent on one
//	              server (Crosstalk only): -n/2 messages XMPP→SIP, then -n/2
//	              SIP→XMPP; each direction's rate and p50/p99 latency
//
// xmpp-login does not use mellium: each login is written as prepared
// bytes (stream headers, <starttls/>, SASL <auth/> and <response/>, the
// bind and roster IQs, <presence/>) straight on the connection, and the
// server's answers are read a top-level element at a time by a small
// reader (xmpp_elem.go) that parses only those elements: names with their
// namespaces resolved (any prefix, ' or " quoting, whitespace, comments),
// attributes on demand, character data unescaped. The exchange is the
// one mellium ran (full TLS handshake verified against -ca with Go's
// default curves, no resumption; SCRAM-SHA-256 else SHA-1 with the cached
// SaltedPassword and the server signature checked, from <success/> data
// or a last <challenge/>; bind; roster get, answered before the presence
// is sent; close waits for the server's end of stream), in the calling
// goroutine. The client's writes are held until it next reads
// (heldConn): each wait for the server costs one write, so the TLS
// Finished leaves with the stream header and the initial presence with
// the end of the stream; the bytes, their order and the waits are the
// same. A <stream:error/>, a SASL <failure/> or an IQ error ends the
// login with its condition. Against Crosstalk this costs ctload about
// 0.85 ms of CPU per login instead of 1.2–1.4 ms (×0.63–0.70, alternated
// runs), most of it the TLS handshake and socket calls; -cpuprofile shows
// where. On the machine of 2026-12-06 that was 0.46 ms with Go's default
// key exchange, of which the X25519MLKEM768 key share (~50 µs) is thrown
// away by a server without ML-KEM; 0.38 ms with -tls-groups x25519, 0.35
// ms over direct TLS (/usr/bin/time over 6,000–8,000 logins). The other
// scenarios log in with mellium.
//
// xmpp-chat logs in with mellium like the other scenarios, but then bypasses
// it so that the generator costs less than the servers it measures: each
// message is written as prepared bytes (an id counter appended to a fixed
// head and tail) straight on the TLS connection, under the session's
// write lock; messages of a pair that are already due together (the
// pacer is behind) leave in one write per direction, each timestamped
// just before its write. Arrivals are found by a small byte scanner under
// TLS (xmpp_scan.go) that sees the whole stream from the TLS handshake:
// it tracks depth, reads the id and type of every top-level <message/>
// (any attribute order and quote style, split across reads), skips other
// stanzas, comments and CDATA, and turns a <stream:error/> into a failure
// of the phase. Once the message phase starts, mellium's decoder gets no
// more bytes (so IQs the server sends then go unanswered; none of the
// compared servers sends any in a run). Latency is still send to
// arrival at the peer session, matched by stanza id, with the same window
// of 16 in flight per pair, against every server alike. At 30,000
// messages/s against Crosstalk this costs about 10 µs of ctload CPU per
// message instead of about 40 µs with mellium's encoder and decoder.
// cross sends and receives its XMPP side the same way. (It used mellium's
// Session.Send, whose context watcher can set a past write deadline after
// Send has returned: under load a pair's next write then failed with
// "i/o timeout", which TLS keeps, so every later message of that pair
// failed too — thousands of failures per run that were not the server's.)
// The stanzas the other scenarios still send through mellium (initial
// presence, subscriptions, status changes, room joins and messages) go
// with a write deadline on the connection and a context that never ends,
// for the same reason.
//
// A user agent answers each MESSAGE it receives 200 and ends the server
// transaction at once, instead of keeping it for Timer J (32 s over UDP):
// at 8,000 MESSAGEs/s the kept transactions held ~150 MB in ctload, whose
// garbage collector then ran beside the server under test (now ~8 MB; a
// run of cross costs ~0.9× the ctload CPU it did).
//
// SIP goes over UDP unless -sip-transport says tcp or tls: then each user
// agent keeps one connection from a fixed local port, registers that
// address as its contact (;transport=tcp or tls) and receives the
// requests relayed to it on that connection; tls verifies the server
// against -ca (or not, with -insecure).
//
// Every run is bounded: at most -n operations, -d in all, -timeout each.
// Every target and source address must be loopback (127.0.0.0/8 or ::1):
// anything else is refused before a packet is sent, and the dialer checks
// again at connect time. -src 127.0.0.2-127.0.0.200 spreads connections
// over many source addresses to hold more than 64k sessions.
//
// Examples (Prosody on 127.0.0.5:5222 with user1..user100, password
// "secret"; Kamailio on 127.0.0.6:5060):
//
//	ctload -xmpp 127.0.0.5:5222 -ca cert.pem -accounts 100 -n 2000 -c 50 xmpp-login
//	ctload -xmpp 127.0.0.5:5223 -direct-tls -tls-resume -tls-groups x25519 -ca cert.pem -accounts 100 -n 2000 -c 50 xmpp-login -fast
//	ctload -xmpp 127.0.0.5:5223 -direct-tls -tls-groups x25519 -ca cert.pem -n 3000 -c 50 xmpp-tls
//	ctload -xmpp 127.0.0.5:5222 -insecure -accounts 100 -c 50 -n 200000 -rate 20000 xmpp-chat
//	ctload -xmpp 127.0.0.5:5222 -insecure -first 1001 -accounts 189 -contacts 20 -n 5000 xmpp-presence
//	ctload -xmpp 127.0.0.5:5222 -insecure -n 5000 -c 50 -src 127.0.0.10-127.0.0.40 -pid $(pidof lua5.4) xmpp-idle
//	ctload -sip 127.0.0.6:5060 -n 50000 -c 32 -pid $KAMAILIO_PID sip-register
//	ctload -sip 127.0.0.6:5060 -accounts 32 -c 16 -n 50000 -json out.json sip-message
//	ctload -sip 127.0.0.6:5060 -sip-transport tcp -n 5000 sip-register
//	ctload -xmpp 127.0.0.5:5222 -insecure -first 3001 -accounts 500 -occupants 500 -c 20 -muc muc.localhost muc
//	ctload -smoke -xmpp 127.0.0.5:5222 -insecure xmpp-chat   # ~3 s, small numbers
//
// The table goes to standard output; -json FILE writes the same result as
// JSON. The exit status is 0 when every operation succeeded, 1 when any
// failed or none succeeded, 2 for a usage or set-up error. Server CPU is
// utime+stime of the process and its descendants from /proc/PID/stat, at
// 10 ms resolution: short runs show "-". -cpuprofile FILE writes ctload's
// own CPU profile (go tool pprof), to see what the generator spends.
package main
