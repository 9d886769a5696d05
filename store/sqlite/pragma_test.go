package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
)

// TestPragmas checks the connection settings the package documents, on the
// writer and on the readers.
func TestPragmas(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "db"), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, db := range map[string]querier{"writer": st.wdb, "reader": st.rdb} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"synchronous":  "2", // FULL
			"foreign_keys": "1",
			"busy_timeout": "5000",
		} {
			var got string
			if err := db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if name == "reader" && pragma == "synchronous" {
				continue // readers never commit
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, want)
			}
		}
	}
	if _, err := st.rdb.ExecContext(t.Context(), `DELETE FROM accounts`); err == nil {
		t.Error("the read pool can write")
	}
	ms, _ := loadMigrations()
	var n int
	if err := st.rdb.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Errorf("schema_migrations: %d rows, %v", n, err)
	}
}

// TestMigrationsAtomic checks that the embedded migrations are numbered
// 1, 2, 3, … and that a failing migration leaves nothing of itself or of
// those before it in the same run.
func TestMigrationsAtomic(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %s has version %d, want %d", m.name, m.version, i+1)
		}
	}
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "db"), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v := len(ms)
	bad := append(ms, migration{version: v + 1, name: "ok.sql", sql: `CREATE TABLE t2 (x INTEGER)`},
		migration{version: v + 2, name: "bad.sql", sql: `CREATE TABLE t3 (x INTEGER); SELECT * FROM nowhere`})
	if err := st.migrate(t.Context(), bad); err == nil {
		t.Fatal("a failing migration succeeded")
	} else {
		t.Log(err)
	}
	var n int
	if err := st.wdb.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('t2', 't3')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("half-applied migrations: %d tables, %v", n, err)
	}
	if err := st.wdb.QueryRowContext(t.Context(), `SELECT MAX(version) FROM schema_migrations`).Scan(&n); err != nil || n != v {
		t.Errorf("schema version %d after a failed run, want %d (%v)", n, v, err)
	}
	// A database newer than the program is refused.
	if err := st.migrate(t.Context(), bad[:v+1]); err != nil {
		t.Fatal(err)
	}
	if err := st.migrate(t.Context(), ms); err == nil {
		t.Error("a schema newer than the program was accepted")
	}
}
