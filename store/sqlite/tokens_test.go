package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoginTokenPlans checks that every login-token statement searches an
// index: the login's read (owner, client) in particular is one indexed
// read, and no statement scans the table.
func TestLoginTokenPlans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crosstalk.db")
	open(t, path).Close()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`SELECT id, mechanism, used, issued_us, expiry_us, creds FROM login_tokens WHERE owner = 'a' AND client = 'c' ORDER BY used`,
		`DELETE FROM login_tokens WHERE owner = 'a' AND expiry_us <= 1`,
		`DELETE FROM login_tokens WHERE owner = 'a' AND client NOT IN (
			SELECT client FROM login_tokens WHERE owner = 'a' GROUP BY client ORDER BY MAX(issued_us) DESC, client LIMIT 3)`,
		`DELETE FROM login_tokens WHERE owner = 'a' AND client = 'c' AND used = 1 AND id <> x'00'`,
		`UPDATE login_tokens SET used = 1 WHERE owner = 'a' AND client = 'c' AND id = x'00'`,
		`DELETE FROM login_tokens WHERE id IN (SELECT id FROM login_tokens WHERE expiry_us <= 1 ORDER BY expiry_us LIMIT 64)`,
	} {
		rows, err := db.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN login_tokens") || strings.Contains(step, "TEMP B-TREE FOR ORDER BY") && strings.HasPrefix(q, "SELECT") {
				t.Errorf("%s:\n%s", q, strings.Join(plan, "\n"))
			}
		}
		t.Logf("%s\n  %s", strings.Join(strings.Fields(q), " "), strings.Join(plan, "\n  "))
	}
}
