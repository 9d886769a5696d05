package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
)

// groupCommit batches the writes that wait for the single writer
// connection into one transaction (group commit). With synchronous=FULL
// every commit is an fsync, so the writer's throughput was one fsync per
// write: a subscription handshake is eight roster writes (four per side),
// and a 151-account mesh (11,325 handshakes) took over a minute on a
// loaded machine. Batched, one fsync covers every write that queued
// while the previous batch was committing.
//
// Each write in a batch runs under its own savepoint: one that fails is
// rolled back alone, as if in its own transaction. A write returns only
// after the commit that holds it, so it is exactly as durable as before.
// The write at the head of the queue leads: it runs a batch on its own
// goroutine and hands the lead to the next write waiting, if any.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*commitReq
	leading bool
}

// commitReq is one atomic write waiting for its batch.
type commitReq struct {
	ctx  context.Context
	fn   func(q querier) error
	err  error
	lead bool          // set before done is closed: run the next batch
	done chan struct{} // closed when err is final or lead is set
}

// maxBatch bounds the writes of one batch, so that one commit's latency
// stays bounded.
const maxBatch = 128

// atomicBatched runs fn in a batch on the writer (see groupCommit).
func (s *Store) atomicBatched(ctx context.Context, fn func(q querier) error) error {
	g := s.group
	req := &commitReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, req)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if !lead {
		<-req.done // not on ctx: once queued, the write may still commit
		if !req.lead {
			return req.err
		}
	}
	g.mu.Lock()
	batch := g.queue[:min(len(g.queue), maxBatch)]
	g.queue = g.queue[len(batch):]
	g.mu.Unlock()
	s.runBatch(batch)
	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.lead = true
		close(next.done)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	for _, r := range batch {
		if r != req {
			close(r.done)
		}
	}
	return req.err
}

// runBatch runs the writes of one batch in one transaction and sets each
// one's error.
func (s *Store) runBatch(batch []*commitReq) {
	if len(batch) == 1 { // alone: its own transaction, its own context
		r := batch[0]
		r.err = s.runAlone(r.ctx, r.fn)
		return
	}
	// The transaction outlives any one writer's context; each write's
	// statements still run under its own.
	tx, err := s.wdb.BeginTx(context.WithoutCancel(batch[0].ctx), nil)
	if err != nil {
		for _, r := range batch {
			r.err = err
		}
		return
	}
	defer tx.Rollback()
	q := s.inTx(tx)
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		r.err = savepoint(r.ctx, tx, "gc"+strconv.Itoa(i), func() error { return r.fn(q) })
	}
	if err := tx.Commit(); err != nil {
		for _, r := range batch {
			if r.err == nil {
				r.err = fmt.Errorf("commit: %w", err)
			}
		}
	}
}

// runAlone runs fn in a transaction of its own on the writer.
func (s *Store) runAlone(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(s.inTx(tx)); err != nil {
		return err
	}
	return tx.Commit()
}

// savepoint runs fn under a savepoint of tx: what fn did is undone when it
// fails, and the transaction stays usable.
func savepoint(ctx context.Context, tx *sql.Tx, name string, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	if err := fn(); err != nil {
		bg := context.WithoutCancel(ctx)
		_, _ = tx.ExecContext(bg, "ROLLBACK TO "+name)
		_, _ = tx.ExecContext(bg, "RELEASE "+name)
		return err
	}
	_, err := tx.ExecContext(ctx, "RELEASE "+name)
	return err
}

// batchedWriter runs a single-statement write (ExecContext) in a group
// commit, so that, say, the last-activity writes of many sessions ending at
// once share an fsync. Queries (RETURNING) run on the writer directly: their
// rows are read after the statement, which a shared transaction's commit
// would cut short.
type batchedWriter struct {
	cachedQuerier
	s *Store
}

// ExecContext runs the statement in the next batch.
func (b batchedWriter) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := b.s.atomicBatched(ctx, func(q querier) error {
		r, err := q.ExecContext(ctx, query, args...)
		res = r
		return err
	})
	return res, err
}
