package crosstalk

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Every entry gets its id from the hub (ArchiveIDs) before it is queued,
// so a room stamps a live message with the id its archive will have
// (XEP-0359 stanza-id) without waiting for the write.
//
// Archive writing is batched: RouteMessage queues the archive entries of a
// message and returns; one goroutine writes whatever has queued with one
// Store.AppendArchiveBatch (one transaction or COPY), so a busy server
// pays one commit (one fsync) per batch instead of two per message. Reads
// through Hub.QueryArchive first wait for what was queued before them, so
// a client always finds the messages it has sent; Hub.ArchiveEnds does
// not wait (the archive metadata of a login is advisory, and a login must
// not queue behind a write backlog). A crash loses at most the entries of
// the batch being written; the messages themselves were delivered or are
// in the durable offline queue.

const (
	// archiveQueue bounds the entries waiting to be written; a full queue
	// makes RouteMessage wait (back-pressure on the sending session).
	archiveQueue = 4096
	// archiveBatch bounds the entries written in one transaction.
	archiveBatch = 256
)

// archiveJob is one archive entry to write, or a barrier (synced != nil)
// that is released once everything queued before it is committed.
type archiveJob struct {
	owner  Address
	entry  ArchivedMessage
	synced chan struct{}
}

// archiver owns the archive writer goroutine.
type archiver struct {
	store Store
	log   zerolog.Logger
	in    chan archiveJob
	done  chan struct{}
	// entries is the writer goroutine's reused batch buffer.
	entries []ArchiveEntry

	// mu guards closed and the send side of in: senders hold it shared,
	// close holds it exclusively to close in exactly once, after which no
	// sender can queue.
	mu     sync.RWMutex
	closed bool
	// since is when the archiver started: messages accepted before it
	// may have been routed while archiving was off (DropArchivedOffline).
	since time.Time
}

func newArchiver(store Store, log zerolog.Logger, since time.Time) *archiver {
	a := &archiver{store: store, log: log, in: make(chan archiveJob, archiveQueue), done: make(chan struct{}), since: since}
	go a.run()
	return a
}

// enqueue queues a job, waiting while the queue is full.
func (a *archiver) enqueue(ctx context.Context, job archiveJob) error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return ErrShuttingDown
	}
	select {
	case a.in <- job:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sync waits until every entry queued before the call is committed.
func (a *archiver) sync(ctx context.Context) error {
	barrier := make(chan struct{})
	if err := a.enqueue(ctx, archiveJob{synced: barrier}); err != nil {
		return err
	}
	select {
	case <-barrier:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops queuing, writes what is queued and waits for the writer.
func (a *archiver) close(ctx context.Context) error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.in)
	}
	a.mu.Unlock()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run writes batches until in is closed and drained.
func (a *archiver) run() {
	defer close(a.done)
	batch := make([]archiveJob, 0, archiveBatch)
	for job := range a.in {
		batch = append(batch[:0], job)
	fill:
		for len(batch) < archiveBatch {
			select {
			case j, ok := <-a.in:
				if !ok {
					break fill
				}
				batch = append(batch, j)
			default:
				break fill
			}
		}
		a.write(batch)
		for _, j := range batch {
			if j.synced != nil {
				close(j.synced)
			}
		}
	}
}

// write commits a batch with one AppendArchiveBatch; if that fails it
// writes the entries one by one so that one bad entry costs only itself.
func (a *archiver) write(batch []archiveJob) {
	ctx := context.Background()
	entries := a.entries[:0]
	for _, j := range batch {
		if j.synced == nil {
			entries = append(entries, ArchiveEntry{Owner: j.owner, ArchivedMessage: j.entry})
		}
	}
	a.entries = entries
	err := a.store.AppendArchiveBatch(ctx, entries)
	if err == nil {
		return
	}
	a.log.Warn().Err(err).Int("batch", len(entries)).Msg("archive batch failed; writing its entries one by one")
	for _, e := range entries {
		if _, err := a.store.AppendArchive(ctx, e.Owner, e.ArchivedMessage); err != nil {
			a.log.Error().Err(err).Str("jid", e.Owner.String()).Str("id", e.Message.ID).Msg("archiving a message failed")
		}
	}
}

// Archiving reports whether the hub keeps the accounts' archives
// (HubConfig.Archive).
func (h *Hub) Archiving() bool { return h.archiver != nil }

// QueryArchive returns a page of an account's archive (XEP-0313), after
// every message routed before the call has been written to it.
func (h *Hub) QueryArchive(ctx context.Context, owner Address, q ArchiveQuery) (ArchivePage, error) {
	if h.archiver != nil {
		if err := h.archiver.sync(ctx); err != nil {
			return ArchivePage{}, fmt.Errorf("archive of %s: %w", owner, err)
		}
	}
	return h.store.QueryArchive(ctx, owner.Bare(), q)
}

// ArchiveEnds returns the id and time of the first and the last message
// of an account's archive (ok is false for an empty one): what XEP-0313's
// archive metadata reports, read with one index-only store query
// (Store.ArchiveBounds) that decodes no message.
//
// Unlike QueryArchive it does not wait for the archive writer, so a login
// (Bind 2 puts the metadata in <bound/>) never waits behind a backlog of
// archive writes under chat load: the last few messages routed before the
// call may be missing from it. The metadata is advisory: a client then
// asks for what came after the last id it knows, and that query waits
// for the writer (QueryArchive), so it finds those messages.
func (h *Hub) ArchiveEnds(ctx context.Context, owner Address) (first, last ArchiveRef, ok bool, err error) {
	first, last, ok, err = h.store.ArchiveBounds(ctx, owner.Bare())
	if err != nil {
		return ArchiveRef{}, ArchiveRef{}, false, fmt.Errorf("archive ends of %s: %w", owner, err)
	}
	return first, last, ok, nil
}

// archive queues a delivered or stored message for the archives of its
// local parties when archiving is on.
func (h *Hub) archive(ctx context.Context, m *Message) error {
	if h.archiver == nil || !archivable(m) {
		return nil
	}
	for _, side := range [...]struct{ owner, with Address }{{m.From.Bare(), m.To.Bare()}, {m.To.Bare(), m.From.Bare()}} {
		if side.owner.Local() == "" || !h.IsLocal(side.owner) {
			continue
		}
		entry := ArchivedMessage{ID: h.archiveIDs.Next(time.Now()), With: side.with, Message: *m}
		if err := h.archiver.enqueue(ctx, archiveJob{owner: side.owner, entry: entry}); err != nil {
			return fmt.Errorf("archive message for %s: %w", side.owner, err)
		}
	}
	return nil
}

// archivable reports whether archive keeps a message: a chat or normal
// message with a body.
func archivable(m *Message) bool {
	return m.Body != "" && (m.Type == MessageChat || m.Type == MessageNormal)
}

// DropArchivedOffline removes, without delivering them, the offline
// messages of an account that its archive holds, for a login that gets
// them from the archive instead: XEP-0386 (Bind 2) §3.2 has the server
// "clear the offline messages for this user, if any, without sending them
// (as they will be provided by MAM)". It does nothing when the hub does
// not archive. Only messages the archive keeps (archivable) and that were
// accepted since archiving started are dropped, after the archive writer
// has committed what was queued; the others are stored again, in order,
// and delivered at the next initial presence as usual. It returns how many
// messages were dropped.
func (h *Hub) DropArchivedOffline(ctx context.Context, owner Address) (int, error) {
	if h.archiver == nil {
		return 0, nil
	}
	bare := owner.Bare()
	if n, err := h.store.CountOffline(ctx, bare); err != nil || n == 0 {
		if err != nil {
			return 0, fmt.Errorf("offline messages of %s: %w", bare, err)
		}
		return 0, nil
	}
	// One claim of them all (they are all held below anyway).
	claimed, err := h.store.ClaimOffline(ctx, bare, 0)
	if err != nil {
		h.restoreOffline(ctx, bare, claimed)
		return 0, fmt.Errorf("claim offline messages of %s: %w", bare, err)
	}
	// The archive entries of these messages were queued when they were
	// stored (routeBare): once committed, the archive is their only copy.
	if err := h.archiver.sync(ctx); err != nil {
		h.restoreOffline(ctx, bare, claimed)
		return 0, fmt.Errorf("archive of %s: %w", bare, err)
	}
	var keep []OfflineMessage
	for _, m := range claimed {
		if !archivable(&m.Message) || m.Message.Time.Before(h.archiver.since) {
			keep = append(keep, m)
		}
	}
	h.restoreOffline(ctx, bare, keep)
	return len(claimed) - len(keep), nil
}
