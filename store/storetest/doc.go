// Package storetest is the contract every crosstalk.Store passes: one suite
// that store/sqlite and store/postgres run word for word, so that the two
// backends cannot drift apart.
//
// A store package runs it from its tests with a factory that hands each
// subtest a fresh, empty store and closes it in t.Cleanup:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) crosstalk.Store {
//			st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"), zerolog.Nop())
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { st.Close() })
//			return st
//		})
//	}
//
// RunDurability checks that what was written survives closing and opening
// the store again; BenchOfflinePushClaim and BenchArchiveAppend are shared
// benchmark bodies.
//
// The suite pins what usually drifts between databases: byte-for-byte
// address comparison and ordering, timestamps truncated to microseconds in
// UTC, stable keyset paging on equal timestamps, strictly increasing roster
// versions under concurrent writers, exactly-once offline delivery under
// concurrent claims, expiry at a given instant, sentinel errors
// (crosstalk.ErrAccountExists, ErrNoSuchAccount, ErrNotFound), rollback of
// InTransaction and cancelled contexts.
package storetest
