// Package postgres is Crosstalk's production store: a crosstalk.Store on
// PostgreSQL through pgx/v5 and its pgxpool connection pool.
//
// Open parses a libpq-style URL, checks within a few seconds that the server
// answers, and applies the embedded, versioned migrations
// (migrations/NNNN_name.sql) in one transaction under an advisory lock,
// recorded in the schema_migrations table. A search_path given in the URL
// (postgres://host/db?search_path=tenant) is sent as a run-time parameter,
// so every table lives in that schema:
//
//	st, err := postgres.Open(ctx, "postgres://crosstalk@db/crosstalk", log)
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//
// Schema: addresses are stored in their normalised String() form in
// COLLATE "C" columns, so comparison and ordering are byte for byte as in
// store/sqlite; times are timestamptz, written truncated to microseconds and
// read back in UTC; roster groups and registration Path values are text[];
// room configurations are the jsonb of crosstalk.RoomConfig. Archive ids are
// the archive bigserial in base 32 (digits 0-9a-v), zero-padded to 13
// characters, so they sort as the sequence does.
//
// Offline claims for one owner are serialised with a transaction-scoped
// advisory lock, so concurrent claims receive disjoint sets and each one
// continues where the previous one stopped.
//
// store/storetest holds the contract this package passes, word for word
// with store/sqlite.
package postgres
