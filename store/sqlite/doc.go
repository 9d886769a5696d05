// Package sqlite is Crosstalk's embedded default store: a crosstalk.Store on
// SQLite through modernc.org/sqlite (pure Go, no cgo), needing no set-up.
//
// Open creates the database file (and its directory) if needed, puts it in
// WAL mode with synchronous=FULL, a busy timeout and foreign keys on, and
// applies the embedded, versioned migrations (migrations/NNNN_name.sql) in
// one transaction, recorded in the schema_migrations table:
//
//	st, err := sqlite.Open(ctx, "data/crosstalk.db", log)
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//
// SQLite has a single writer, so the store keeps two connection pools: one
// connection that performs every write and every InTransaction, and a
// read-only pool for reads, which WAL lets run beside the writer. Inside
// InTransaction every call on the Store handed to fn runs on that one
// connection; fn must not write through the outer Store, which would wait for
// the connection fn holds.
//
// Schema: addresses are stored in their normalised String() form and compared
// byte for byte; times are integer microseconds since the Unix epoch (UTC);
// roster groups and registration Path values are JSON arrays; room
// configurations are the JSON of crosstalk.RoomConfig. Archive ids are the
// archive sequence number in base 32 (digits 0-9a-v), zero-padded to 13
// characters, so they sort as the sequence does.
//
// synchronous=FULL makes every commit durable before it returns, so a message
// stored offline survives a crash of the process or of the machine; that is
// what lets the server acknowledge it (ARCHITECTURE.md, "Message").
//
// Throughput: every commit is an fsync, so writes that wait for the writer
// at the same time share one transaction (group commit, groupcommit.go),
// each under its own savepoint and each returning only after that commit;
// and every statement run through the store's helpers is prepared once per
// SQL text and pool (stmtcache.go), since parsing is most of what a short
// SQLite query costs.
//
// store/storetest holds the contract this package passes, word for word
// with store/postgres.
package sqlite
