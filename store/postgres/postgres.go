package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// openTimeout bounds connecting and pinging at Open when ctx has no earlier
// deadline.
const openTimeout = 5 * time.Second

// Store is a crosstalk.Store on a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	log  zerolog.Logger
	pool *pgxpool.Pool
	tx   pgx.Tx // non-nil inside InTransaction
	db   string // host/database, for errors and logs
}

var _ crosstalk.Store = (*Store)(nil)

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// beginner starts a transaction, or a savepoint inside one.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Open connects to the database at url (a postgres:// URL or a libpq
// keyword/value string) and brings its schema up to date. An unreachable
// server is an error within a few seconds.
func Open(ctx context.Context, url string, log zerolog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL with its password: do not repeat it.
		return nil, fmt.Errorf("postgres: open: parse URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > openTimeout {
		cfg.ConnConfig.ConnectTimeout = openTimeout
	}
	s := &Store{
		log: log.With().Str("component", "store/postgres").Logger(),
		db:  fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database),
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", s.db, err)
	}
	pctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if err := s.pool.Ping(pctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", s.db, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", name)
		}
		b, err := fs.ReadFile(migrationFS, "migrations/"+name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies the migrations the schema lacks, all in one transaction,
// under an advisory lock so that nodes starting together take turns.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", s.db, err)
	}
	var current int
	var schema string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var cur *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&cur); err != nil {
			return err
		}
		if cur == nil {
			var path string
			tx.QueryRow(ctx, `SHOW search_path`).Scan(&path)
			return fmt.Errorf("search_path %q names no existing schema", path)
		}
		schema = *cur
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "crosstalk.migrate."+schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY,
			name    text NOT NULL,
			applied timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if latest := ms[len(ms)-1].version; current > latest {
			return fmt.Errorf("database schema version %d is newer than this program's %d", current, latest)
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("record %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", s.db, err)
	}
	if latest := ms[len(ms)-1].version; latest > current {
		s.log.Info().Str("db", s.db).Str("schema", schema).Int("from", current).Int("to", latest).Msg("schema migrated")
	}
	return nil
}

// q is where single statements go: the transaction, or the pool.
func (s *Store) q() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.pool
}

// begin is where transactions start: a savepoint in the transaction, or a
// new transaction on the pool.
func (s *Store) begin() beginner {
	if s.tx != nil {
		return s.tx
	}
	return s.pool
}

// atomic runs fn as one unit: in a transaction of its own, or under a
// savepoint of the enclosing one.
func (s *Store) atomic(ctx context.Context, fn func(q querier) error) error {
	return pgx.BeginFunc(ctx, s.begin(), func(tx pgx.Tx) error { return fn(tx) })
}

// read runs fn on one consistent snapshot.
func (s *Store) read(ctx context.Context, fn func(q querier) error) error {
	if s.tx != nil {
		return fn(s.tx)
	}
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(tx) })
}

// InTransaction runs fn with a Store whose every call is part of one
// transaction, committed when fn returns nil and rolled back otherwise (also
// when fn panics). Nested calls use savepoints.
func (s *Store) InTransaction(ctx context.Context, fn func(tx crosstalk.Store) error) error {
	return pgx.BeginFunc(ctx, s.begin(), func(tx pgx.Tx) error {
		return fn(&Store{log: s.log, pool: s.pool, tx: tx, db: s.db})
	})
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.q().QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping %s: %w", s.db, err)
	}
	return nil
}

// Close closes the pool. Inside InTransaction it is an error.
func (s *Store) Close() error {
	if s.tx != nil {
		return errors.New("postgres: close: called inside a transaction")
	}
	s.pool.Close()
	return nil
}

// isUnique reports a unique_violation.
func isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// ts is t as the store writes it: UTC, truncated to microseconds.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nowUTC is the current time as the store keeps it.
func nowUTC() time.Time { return ts(time.Now()) }

// addrString is the stored form of an address: its String(), "" for zero.
func addrString(a crosstalk.Address) string {
	if a.IsZero() {
		return ""
	}
	return a.String()
}

// parseAddr turns a stored address back into an Address; "" is zero.
func parseAddr(s string) (crosstalk.Address, error) {
	if s == "" {
		return crosstalk.Address{}, nil
	}
	a, err := crosstalk.ParseAddress(s)
	if err != nil {
		return crosstalk.Address{}, fmt.Errorf("stored address %q: %w", s, err)
	}
	return a, nil
}

// list is a string list as stored: never NULL.
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// unlist is a stored list as returned: empty lists are nil.
func unlist(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// archiveIDWidth is the number of base-32 digits of an int64.
const archiveIDWidth = 13

// formatArchiveID is the public id of archive sequence n: base 32 (0-9a-v),
// zero-padded so that ids sort as sequence numbers do.
func formatArchiveID(n int64) string {
	s := strconv.FormatInt(n, 32)
	return strings.Repeat("0", archiveIDWidth-len(s)) + s
}

// parseArchiveID is the inverse of formatArchiveID.
func parseArchiveID(s string) (int64, bool) {
	if len(s) != archiveIDWidth {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 32, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// scanAddrs reads a one-column result of stored addresses and closes rows.
func scanAddrs(rows pgx.Rows) ([]crosstalk.Address, error) {
	defer rows.Close()
	var l []crosstalk.Address
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		a, err := parseAddr(s)
		if err != nil {
			return nil, err
		}
		l = append(l, a)
	}
	return l, rows.Err()
}
