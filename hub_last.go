package crosstalk

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Last activity (XEP-0012: when an account's last session ended, with the
// status of its last unavailable presence) is written behind: every
// session end records one, and written one by one each was a commit, an
// fsync with SQLite, for a value that only the next XEP-0012 query reads.
// The hub keeps what was recorded in memory and writes it at most
// lastActivityDelay later, everything recorded meanwhile in one
// transaction per lastActivityBatch accounts (one commit for hundreds of
// logouts under load). Reads through the hub see what is recorded at
// once. A crash loses at most the last lastActivityDelay of updates: the
// older value stays (or none), as if those sessions had ended without
// saying so. DeleteAccount and Close write or drop what is pending first,
// so nothing recorded outlives its account or the hub.

const (
	// lastActivityDelay bounds how long a recorded last activity waits
	// to be written.
	lastActivityDelay = 100 * time.Millisecond
	// lastActivityBatch bounds the accounts written in one transaction,
	// so that one commit does not hold the store's writer for long.
	lastActivityBatch = 256
)

// lastWriter keeps recorded last activities until they are written.
type lastWriter struct {
	store Store
	log   zerolog.Logger

	// mu guards pending, inflight and closed.
	mu sync.Mutex
	// pending holds what was recorded since the last write began.
	pending map[Address]LastActivity
	// inflight is what the write under way is committing.
	inflight map[Address]LastActivity
	closed   bool

	// writeMu makes writes one at a time, in recording order.
	writeMu sync.Mutex
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newLastWriter(store Store, log zerolog.Logger) *lastWriter {
	w := &lastWriter{store: store, log: log, pending: map[Address]LastActivity{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// run writes what is pending lastActivityDelay after it was first
// recorded, until stop.
func (w *lastWriter) run() {
	defer close(w.done)
	timer := time.NewTimer(lastActivityDelay)
	timer.Stop()
	for {
		select {
		case <-w.kick:
		case <-w.stop:
			return
		}
		timer.Reset(lastActivityDelay)
		select {
		case <-timer.C:
		case <-w.stop:
			timer.Stop()
			return
		}
		w.flush(context.Background())
	}
}

// put records a last activity; false when the writer is closed.
func (w *lastWriter) put(owner Address, la LastActivity) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	if len(w.pending) == 0 {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	w.pending[owner] = la
	return true
}

// get returns a recorded last activity not yet known to be written.
func (w *lastWriter) get(owner Address) (LastActivity, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if la, ok := w.pending[owner]; ok {
		return la, true
	}
	la, ok := w.inflight[owner]
	return la, ok
}

// forget drops owner's pending last activity and waits for a write under
// way, so that a deletion of the account that follows comes after it.
func (w *lastWriter) forget(owner Address) {
	w.mu.Lock()
	delete(w.pending, owner)
	w.mu.Unlock()
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
}

// flush writes everything pending.
func (w *lastWriter) flush(ctx context.Context) {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.mu.Lock()
	batch := w.pending
	if len(batch) == 0 {
		w.mu.Unlock()
		return
	}
	w.pending, w.inflight = make(map[Address]LastActivity, len(batch)), batch
	w.mu.Unlock()
	w.write(ctx, batch)
	w.mu.Lock()
	w.inflight = nil
	w.mu.Unlock()
}

// write commits a batch in transactions of up to lastActivityBatch
// accounts; if one fails it writes its accounts one by one, so that one
// bad write costs only itself.
func (w *lastWriter) write(ctx context.Context, batch map[Address]LastActivity) {
	owners := make([]Address, 0, len(batch))
	for owner := range batch {
		owners = append(owners, owner)
	}
	for len(owners) > 0 {
		chunk := owners[:min(len(owners), lastActivityBatch)]
		owners = owners[len(chunk):]
		err := w.store.InTransaction(ctx, func(tx Store) error {
			for _, owner := range chunk {
				if err := tx.PutLastActivity(ctx, owner, batch[owner]); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			continue
		}
		w.log.Warn().Err(err).Int("batch", len(chunk)).Msg("last-activity batch failed; writing its accounts one by one")
		for _, owner := range chunk {
			if err := w.store.PutLastActivity(ctx, owner, batch[owner]); err != nil {
				w.log.Error().Err(err).Str("jid", owner.String()).Msg("recording last activity failed")
			}
		}
	}
}

// close stops the writer and writes what is pending; later records are
// written at once.
func (w *lastWriter) close(ctx context.Context) error {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		close(w.stop)
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.flush(ctx)
	return nil
}

// PutLastActivity records an account's last activity (XEP-0012): when its
// last session ended and the status it left with. It is written within
// lastActivityDelay, with whatever else was recorded meanwhile; GetLastActivity
// sees it at once. After Close it is written before PutLastActivity returns.
func (h *Hub) PutLastActivity(ctx context.Context, owner Address, la LastActivity) error {
	owner = owner.Bare()
	if h.lastW.put(owner, la) {
		return nil
	}
	if err := h.store.PutLastActivity(ctx, owner, la); err != nil {
		return fmt.Errorf("last activity of %s: %w", owner, err)
	}
	return nil
}

// GetLastActivity returns an account's last activity, including one
// recorded and not yet written; ErrNotFound if none was recorded.
func (h *Hub) GetLastActivity(ctx context.Context, owner Address) (LastActivity, error) {
	owner = owner.Bare()
	if la, ok := h.lastW.get(owner); ok {
		return la, nil
	}
	return h.store.GetLastActivity(ctx, owner)
}
