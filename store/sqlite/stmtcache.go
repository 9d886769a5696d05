package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"
)

// maxCachedStmts bounds the statements kept prepared per pool; texts
// beyond it (queries built with a variable number of placeholders) run
// unprepared.
const maxCachedStmts = 256

// stmtCache keeps one prepared statement per SQL text for one pool.
// Parsing and planning a statement is most of what a short query costs in
// SQLite: a login read the roster four times and paid for four parses.
// database/sql prepares a cached statement lazily on each connection of
// the pool and reuses it there, inside transactions too (Tx.StmtContext,
// on the transaction's own connection).
//
// A statement first met inside a transaction is not prepared there:
// DB.PrepareContext needs a connection of the pool, which the transaction
// may hold (the writer has one), so it runs unprepared and a goroutine
// prepares it for next time once a connection is free.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
	closed  bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt), pending: make(map[string]bool)}
}

// prepareTimeout bounds a background prepare waiting for a connection.
const prepareTimeout = 30 * time.Second

// get returns the prepared statement for query, or nil when it is not
// cached (yet) and the caller is to run it unprepared, which also reports
// any error in it. inTx says that the caller holds a connection of the
// pool.
func (c *stmtCache) get(ctx context.Context, query string, inTx bool) *sql.Stmt {
	if c == nil || !cacheable(query) {
		return nil
	}
	c.mu.Lock()
	st := c.m[query]
	if st != nil || c.closed || c.pending[query] || len(c.m)+len(c.pending) >= maxCachedStmts {
		c.mu.Unlock()
		return st
	}
	c.pending[query] = true
	c.mu.Unlock()
	if inTx {
		go func() {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), prepareTimeout)
			defer cancel()
			c.prepare(pctx, query)
		}()
		return nil
	}
	return c.prepare(ctx, query)
}

// prepare prepares query on the pool and caches it.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	st, err := c.db.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil {
		return nil
	}
	if c.closed {
		_ = st.Close()
		return nil
	}
	c.m[query] = st
	return st
}

// close closes every cached statement.
func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var first error
	for q, st := range c.m {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.m, q)
	}
	return first
}

// cacheable reports whether a statement text is worth keeping prepared:
// savepoint commands carry generated names and run once each.
func cacheable(query string) bool {
	q := strings.TrimSpace(query)
	for _, p := range []string{"SAVEPOINT", "RELEASE", "ROLLBACK"} {
		if len(q) >= len(p) && strings.EqualFold(q[:len(p)], p) {
			return false
		}
	}
	return true
}

// cachedQuerier runs statements through a stmtCache, on its pool or
// inside a transaction of that pool.
type cachedQuerier struct {
	q  querier // the pool or the transaction
	tx *sql.Tx // nil outside a transaction
	c  *stmtCache
}

func (c cachedQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	st := c.c.get(ctx, query, c.tx != nil)
	if st != nil && c.tx != nil {
		st = c.tx.StmtContext(ctx, st)
	}
	return st
}

// ExecContext runs a statement that returns no rows.
func (c cachedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.q.ExecContext(ctx, query, args...)
}

// QueryContext runs a query.
func (c cachedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query for at most one row.
func (c cachedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, query, args...)
}
