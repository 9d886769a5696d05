package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/rs/zerolog"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/crosstalk-im/crosstalk"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// busyTimeoutMS is how long a connection waits for a lock another process
// holds before it reports SQLITE_BUSY.
const busyTimeoutMS = 5000

// Store is a crosstalk.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	log  zerolog.Logger
	path string
	wdb  *sql.DB // the single writer: MaxOpenConns(1)
	rdb  *sql.DB // read-only pool
	tx   *txState
	// archiveInsert is AppendArchive's statement, prepared once on the
	// writer: the hub's archiver calls it hundreds of times per batch.
	archiveInsert *sql.Stmt
	// wstmts and rstmts keep the statements run through r, w, read and
	// atomic prepared, on the writer and on the read pool.
	wstmts, rstmts *stmtCache
	// group batches the atomic writes waiting for the writer.
	group *groupCommit
}

// txState is the transaction a Store handed to InTransaction's fn runs in.
type txState struct {
	tx        *sql.Tx
	savepoint atomic.Int64
}

var _ crosstalk.Store = (*Store)(nil)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open opens or creates the database at path, creating its directory if it
// is missing, and brings its schema up to date.
func Open(ctx context.Context, path string, log zerolog.Logger) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: create directory: %w", path, err)
		}
	}
	// Create the file ourselves first: it gives a plain "permission denied"
	// rather than SQLite's "unable to open database file".
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()

	s := &Store{log: log.With().Str("component", "store/sqlite").Logger(), path: path, group: &groupCommit{}}
	base := (&url.URL{Scheme: "file", OmitHost: true, Path: path}).String()
	q := url.Values{}
	q.Set("_busy_timeout", strconv.Itoa(busyTimeoutMS))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "FULL")
	q.Set("_journal_mode", "WAL")
	q.Set("_txlock", "immediate")
	s.wdb, err = sql.Open("sqlite", base+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxIdleTime(0)
	s.wdb.SetConnMaxLifetime(0)

	// The writer sets WAL mode (a property of the file) before any reader
	// connects; the migrations run on it too.
	ms, err := loadMigrations()
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", s.path, err)
	}
	if err := s.migrate(ctx, ms); err != nil {
		s.wdb.Close()
		return nil, err
	}
	if s.archiveInsert, err = s.wdb.PrepareContext(ctx, archiveInsertSQL); err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: prepare archive insert: %w", err)
	}

	q = url.Values{}
	q.Set("_busy_timeout", strconv.Itoa(busyTimeoutMS))
	q.Set("_foreign_keys", "1")
	q.Set("_query_only", "1")
	s.rdb, err = sql.Open("sqlite", base+"?"+q.Encode())
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(n)
	s.rdb.SetMaxIdleConns(n)
	s.wstmts, s.rstmts = newStmtCache(s.wdb), newStmtCache(s.rdb)
	if err := s.Ping(ctx); err != nil {
		s.Close()
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

// migrate applies the migrations the database lacks, all in one
// transaction: either every one is applied or none is.
func (s *Store) migrate(ctx context.Context, ms []migration) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", s.path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_us INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", s.path, err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", s.path, err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("sqlite: migrate %s: database schema version %d is newer than this program's %d", s.path, current, latest)
	}
	applied := 0
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("sqlite: migrate %s: apply %s: %w", s.path, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)`,
			m.version, m.name, toMicros(nowUTC())); err != nil {
			return fmt.Errorf("sqlite: migrate %s: record %s: %w", s.path, m.name, err)
		}
		applied++
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate %s: commit: %w", s.path, err)
	}
	if applied > 0 {
		s.log.Info().Str("path", s.path).Int("from", current).Int("to", ms[len(ms)-1].version).Msg("schema migrated")
	}
	return nil
}

// r is where reads go: the transaction, or the read pool.
func (s *Store) r() querier {
	if s.tx != nil {
		return s.inTx(s.tx.tx)
	}
	return cachedQuerier{q: s.rdb, c: s.rstmts}
}

// w is where single-statement writes go: the transaction, or the writer,
// where an ExecContext joins the next group commit (batchedWriter).
func (s *Store) w() querier {
	if s.tx != nil {
		return s.inTx(s.tx.tx)
	}
	return batchedWriter{cachedQuerier{q: s.wdb, c: s.wstmts}, s}
}

// inTx runs statements in a transaction of the writer.
func (s *Store) inTx(tx *sql.Tx) querier { return cachedQuerier{q: tx, tx: tx, c: s.wstmts} }

// atomic runs fn as one unit on the writer: under a savepoint of the
// enclosing transaction, or in a transaction it may share with other
// writes waiting at the same time (groupCommit), under a savepoint there.
func (s *Store) atomic(ctx context.Context, fn func(q querier) error) error {
	if s.tx != nil {
		return s.tx.savepointDo(ctx, func() error { return fn(s.inTx(s.tx.tx)) })
	}
	return s.atomicBatched(ctx, fn)
}

// pointRead returns the context that a short indexed read of the login
// path runs under: ctx's values without its cancellation, once ctx is
// checked not to be done. Such a read takes microseconds; made
// interruptible, it costs two goroutines per statement (database/sql's
// and the driver's watchers of ctx.Done) and the driver's progress
// handler, more than the read itself.
func pointRead(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// read runs fn on one consistent snapshot.
func (s *Store) read(ctx context.Context, fn func(q querier) error) error {
	if s.tx != nil {
		return fn(s.inTx(s.tx.tx))
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(cachedQuerier{q: tx, tx: tx, c: s.rstmts})
}

func (t *txState) savepointDo(ctx context.Context, fn func() error) (err error) {
	name := "sp" + strconv.FormatInt(t.savepoint.Add(1), 10)
	if _, err := t.tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			// Undo what fn did and leave the enclosing transaction usable.
			t.tx.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO "+name)
			t.tx.ExecContext(context.WithoutCancel(ctx), "RELEASE "+name)
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, "RELEASE "+name); err != nil {
		return err
	}
	done = true
	return nil
}

// InTransaction runs fn with a Store whose every call is part of one
// transaction on the writer connection, committed when fn returns nil and
// rolled back otherwise (also when fn panics). Nested calls use savepoints.
func (s *Store) InTransaction(ctx context.Context, fn func(tx crosstalk.Store) error) error {
	if s.tx != nil {
		return s.tx.savepointDo(ctx, func() error { return fn(s) })
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	inner := &Store{log: s.log, path: s.path, wdb: s.wdb, rdb: s.rdb, tx: &txState{tx: tx}, archiveInsert: s.archiveInsert,
		wstmts: s.wstmts, rstmts: s.rstmts}
	if err := fn(inner); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r().QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping %s: %w", s.path, err)
	}
	return nil
}

// Close closes both pools. Inside InTransaction it is an error.
func (s *Store) Close() error {
	if s.tx != nil {
		return errors.New("sqlite: close: called inside a transaction")
	}
	var errs []error
	if s.archiveInsert != nil {
		errs = append(errs, s.archiveInsert.Close())
	}
	errs = append(errs, s.wstmts.close(), s.rstmts.close())
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
	return nil
}

// isUnique reports a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// affected returns what went wrong with an Exec: err, else the error of
// reading how many rows it changed, else none when it changed none.
func affected(res sql.Result, err, none error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}
