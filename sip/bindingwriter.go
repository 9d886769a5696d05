package sip

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
)

// Registration bindings are kept in memory, which is the authority for
// every lookup, and written to the store behind the REGISTER (as
// Kamailio's usrloc does in its write-back mode): a change is queued,
// coalesced with the later changes of the same binding, and one writer
// goroutine writes what has queued, every Config.BindingWriteDelay or as
// soon as maxBindingBatch bindings wait, in one store transaction (one
// commit, one fsync). A graceful shutdown writes everything; a crash loses
// the changes of at most one write delay (plus the batch being written).

// maxBindingBatch is how many queued binding changes start a write before
// the delay has passed, and the most written in one transaction.
const maxBindingBatch = 512

// bindingKey names one stored binding.
type bindingKey struct {
	aor crosstalk.Address
	key string
}

// bindingOp is the latest change of one binding: a put or a delete.
type bindingOp struct {
	reg crosstalk.Registration
	del bool
}

// bindingWriter writes binding changes to the store behind the requests
// that make them.
type bindingWriter struct {
	store crosstalk.Store
	log   zerolog.Logger
	delay time.Duration

	mu      sync.Mutex
	pending map[bindingKey]bindingOp
	waiters []chan struct{} // released after the next write
	closed  bool

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

func newBindingWriter(store crosstalk.Store, delay time.Duration, log zerolog.Logger) *bindingWriter {
	w := &bindingWriter{
		store:   store,
		log:     log,
		delay:   delay,
		pending: make(map[bindingKey]bindingOp),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go w.run()
	return w
}

// put queues a binding to be created or replaced.
func (w *bindingWriter) put(reg crosstalk.Registration) {
	w.queue(bindingKey{reg.AOR, reg.Key()}, bindingOp{reg: reg})
}

// remove queues a binding's deletion.
func (w *bindingWriter) remove(aor crosstalk.Address, key string) {
	w.queue(bindingKey{aor, key}, bindingOp{reg: crosstalk.Registration{AOR: aor}, del: true})
}

func (w *bindingWriter) queue(k bindingKey, op bindingOp) {
	w.mu.Lock()
	if w.closed { // after the final write: the store is about to close
		w.mu.Unlock()
		w.log.Warn().Str("aor", k.aor.String()).Bool("delete", op.del).Msg("binding change after shutdown not stored")
		return
	}
	w.pending[k] = op
	n := len(w.pending)
	w.mu.Unlock()
	if n >= maxBindingBatch {
		w.signal()
	}
}

func (w *bindingWriter) signal() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// sync writes what is queued now and waits until it is written (or has
// failed and been queued again), at most until ctx ends.
func (w *bindingWriter) sync(ctx context.Context) error {
	ch := make(chan struct{})
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.waiters = append(w.waiters, ch)
	w.mu.Unlock()
	w.signal()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("writing bindings: %w", ctx.Err())
	}
}

// close writes what is queued, stops the writer and waits for it, at most
// until ctx ends. Changes queued after close are logged and dropped.
func (w *bindingWriter) close(ctx context.Context) error {
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
		return fmt.Errorf("writing bindings at shutdown: %w", ctx.Err())
	}
	w.mu.Lock()
	left := len(w.pending)
	w.mu.Unlock()
	if left > 0 {
		return fmt.Errorf("%d binding changes not stored at shutdown", left)
	}
	return nil
}

// run writes batches every delay, or at once when kicked, until stopped;
// then it writes what is left.
func (w *bindingWriter) run() {
	defer close(w.done)
	t := time.NewTimer(w.delay)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			// Final writes: retry a failing store a few times, bounded.
			for i := 0; i < 3 && w.write() > 0; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			w.release()
			return
		case <-t.C:
		case <-w.kick:
		}
		w.write()
		t.Reset(w.delay)
	}
}

// write takes the queued changes and writes them in one transaction; on
// failure they are queued again unless a newer change of the same binding
// arrived meanwhile. It returns how many changes are still queued after a
// failure (0 on success), and releases the sync waiters.
func (w *bindingWriter) write() int {
	w.mu.Lock()
	var batch map[bindingKey]bindingOp
	if len(w.pending) > 0 {
		batch = w.pending
		w.pending = make(map[bindingKey]bindingOp, len(batch))
	}
	waiters := w.waiters
	w.waiters = nil
	w.mu.Unlock()
	defer func() {
		for _, ch := range waiters {
			close(ch)
		}
	}()
	if len(batch) == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := w.store.InTransaction(ctx, func(tx crosstalk.Store) error {
		for k, op := range batch {
			if op.del {
				if err := tx.DeleteRegistration(ctx, k.aor, k.key); err != nil && !errors.Is(err, crosstalk.ErrNotFound) {
					return err
				}
				continue
			}
			if err := tx.PutRegistration(ctx, op.reg); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return 0
	}
	w.mu.Lock()
	for k, op := range batch {
		if _, newer := w.pending[k]; !newer {
			w.pending[k] = op
		}
	}
	n := len(w.pending)
	w.mu.Unlock()
	w.log.Error().Err(err).Int("bindings", len(batch)).Msg("writing registration bindings failed; retrying")
	return n
}

// release frees sync waiters left at shutdown.
func (w *bindingWriter) release() {
	w.mu.Lock()
	waiters := w.waiters
	w.waiters = nil
	w.mu.Unlock()
	for _, ch := range waiters {
		close(ch)
	}
}
