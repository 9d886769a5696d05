package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/crosstalk-im/crosstalk"
)

// msgColumns are the columns of a crosstalk.Message in the offline and
// archive tables.
const msgColumns = `msg_id, from_addr, to_addr, type, body, subject, thread, lang, ts_us, native_proto, native_ctype, native_payload`

const msgPlaceholders = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

func msgArgs(m *crosstalk.Message) []any {
	return []any{m.ID, addrString(m.From), addrString(m.To), m.Type.String(), m.Body, m.Subject, m.Thread, m.Lang,
		toMicros(m.Time), int(m.Native.Protocol), m.Native.ContentType, m.Native.Payload}
}

// msgScanner scans the msgColumns into a Message; finish completes it.
type msgScanner struct {
	from, to, typ string
	ts            int64
	proto         int
}

func (ms *msgScanner) dest(m *crosstalk.Message) []any {
	return []any{&m.ID, &ms.from, &ms.to, &ms.typ, &m.Body, &m.Subject, &m.Thread, &m.Lang,
		&ms.ts, &ms.proto, &m.Native.ContentType, &m.Native.Payload}
}

func (ms *msgScanner) finish(m *crosstalk.Message) error {
	var err error
	if m.From, err = parseAddr(ms.from); err != nil {
		return err
	}
	if m.To, err = parseAddr(ms.to); err != nil {
		return err
	}
	m.Type = crosstalk.ParseMessageType(ms.typ)
	m.Time = fromMicros(ms.ts)
	m.Native.Protocol = crosstalk.Protocol(ms.proto)
	return nil
}

// PushOffline appends a message to the owner's queue; when it returns nil
// the message is committed.
func (s *Store) PushOffline(ctx context.Context, owner crosstalk.Address, m crosstalk.Message) error {
	args := append([]any{owner.String()}, msgArgs(&m)...)
	if _, err := s.w().ExecContext(ctx, `INSERT INTO offline (owner, `+msgColumns+`) VALUES (?, `+msgPlaceholders+`)`, args...); err != nil {
		return fmt.Errorf("sqlite: push offline for %s: %w", owner, err)
	}
	return nil
}

// ClaimOffline removes and returns the owner's queued messages in push
// order, at most limit of them (≤ 0: all). Claims are serialised by the
// single writer, so concurrent claims receive disjoint sets.
func (s *Store) ClaimOffline(ctx context.Context, owner crosstalk.Address, limit int) ([]crosstalk.OfflineMessage, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	if s.tx == nil {
		// Most logins and registrations find nothing: a read on the reader
		// pool answers that without taking the one writer connection (a
		// write transaction per login was a third of a REGISTER's cost).
		// What is committed before this read is seen; a message stored
		// after it is as late as one stored after the DELETE would be.
		var queued bool
		rctx, err := pointRead(ctx)
		if err == nil {
			err = s.r().QueryRowContext(rctx, `SELECT EXISTS (SELECT 1 FROM offline WHERE owner = ?)`, owner.String()).Scan(&queued)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: claim offline for %s: %w", owner, err)
		}
		if !queued {
			return nil, nil
		}
	}
	var out []crosstalk.OfflineMessage
	err := s.atomic(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `DELETE FROM offline WHERE seq IN (
			SELECT seq FROM offline WHERE owner = ? ORDER BY seq LIMIT ?)
			RETURNING seq, `+msgColumns, owner.String(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var om crosstalk.OfflineMessage
			var ms msgScanner
			if err := rows.Scan(append([]any{&om.Seq}, ms.dest(&om.Message)...)...); err != nil {
				return err
			}
			if err := ms.finish(&om.Message); err != nil {
				return err
			}
			out = append(out, om)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim offline for %s: %w", owner, err)
	}
	// RETURNING gives no order guarantee.
	slices.SortFunc(out, func(a, b crosstalk.OfflineMessage) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// CountOffline returns the number of queued messages.
func (s *Store) CountOffline(ctx context.Context, owner crosstalk.Address) (int, error) {
	var n int
	if err := s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM offline WHERE owner = ?`, owner.String()).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count offline for %s: %w", owner, err)
	}
	return n, nil
}

// archiveInsertSQL appends one archive entry and returns its id.
// A NULL id makes SQLite assign the next one.
const archiveInsertSQL = `INSERT INTO archive (id, owner, with_addr, ` + msgColumns + `)
	VALUES (?, ?, ?, ` + msgPlaceholders + `) RETURNING id`

// archiveArgs are the insert's arguments for one entry: its given id (nil
// for a new one), owner, with and the message.
func archiveArgs(owner crosstalk.Address, m *crosstalk.ArchivedMessage) ([]any, error) {
	var id any
	if m.ID != "" {
		n, ok := parseArchiveID(m.ID)
		if !ok {
			return nil, fmt.Errorf("sqlite: %q is not an archive id", m.ID)
		}
		id = n
	}
	return append([]any{id, owner.String(), addrString(m.With)}, msgArgs(&m.Message)...), nil
}

// AppendArchive stores a message in the owner's archive and returns its id:
// m.ID when set, else a new one. New ids sort in the order messages were
// appended.
func (s *Store) AppendArchive(ctx context.Context, owner crosstalk.Address, m crosstalk.ArchivedMessage) (string, error) {
	args, err := archiveArgs(owner, &m)
	if err != nil {
		return "", err
	}
	stmt := s.archiveInsert
	if s.tx != nil {
		stmt = s.tx.tx.StmtContext(ctx, stmt) // the same prepared statement: one writer connection
	}
	var id int64
	if err := stmt.QueryRowContext(ctx, args...).Scan(&id); err != nil {
		return "", fmt.Errorf("sqlite: append archive of %s: %w", owner, err)
	}
	return formatArchiveID(id), nil
}

// AppendArchiveBatch stores entries in order in one transaction (or under
// a savepoint of the enclosing one), with the prepared insert.
func (s *Store) AppendArchiveBatch(ctx context.Context, entries []crosstalk.ArchiveEntry) error {
	if len(entries) == 0 {
		return ctx.Err()
	}
	return s.atomic(ctx, func(q querier) error {
		stmt := s.archiveInsert
		if cq, ok := q.(cachedQuerier); ok && cq.tx != nil {
			stmt = cq.tx.StmtContext(ctx, stmt)
		}
		for i := range entries {
			e := &entries[i]
			args, err := archiveArgs(e.Owner, &e.ArchivedMessage)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("sqlite: append archive of %s: %w", e.Owner, err)
			}
		}
		return nil
	})
}

// QueryArchive returns a page of the owner's archive ordered by time then
// id. With Before set the page is the last one before it (paging backwards);
// otherwise it is the first one (after After, if set). An After or Before id
// that is not in the owner's archive is crosstalk.ErrNotFound (XEP-0313
// item-not-found).
func (s *Store) QueryArchive(ctx context.Context, owner crosstalk.Address, aq crosstalk.ArchiveQuery) (crosstalk.ArchivePage, error) {
	var page crosstalk.ArchivePage
	limit := aq.Max
	if limit <= 0 {
		limit = 50
	}
	err := s.read(ctx, func(q querier) error {
		where := []string{`owner = ?`}
		args := []any{owner.String()}
		if !aq.With.IsZero() {
			where = append(where, `with_addr = ?`)
			args = append(args, aq.With.String())
		}
		if !aq.Start.IsZero() {
			where = append(where, `ts_us >= ?`)
			args = append(args, toMicros(aq.Start))
		}
		if !aq.End.IsZero() {
			where = append(where, `ts_us <= ?`)
			args = append(args, toMicros(aq.End))
		}
		for _, b := range []struct {
			id, op string
		}{{aq.After, ">"}, {aq.Before, "<"}} {
			if b.id == "" {
				continue
			}
			id, ok := parseArchiveID(b.id)
			var ts int64
			if ok {
				err := q.QueryRowContext(ctx, `SELECT ts_us FROM archive WHERE owner = ? AND id = ?`, owner.String(), id).Scan(&ts)
				if errors.Is(err, sql.ErrNoRows) {
					ok = false
				} else if err != nil {
					return err
				}
			}
			if !ok {
				return fmt.Errorf("archive id %q: %w", b.id, crosstalk.ErrNotFound)
			}
			where = append(where, `(ts_us, id) `+b.op+` (?, ?)`)
			args = append(args, ts, id)
		}
		backward := aq.Before != "" || aq.Last
		order := `ts_us, id`
		if backward {
			order = `ts_us DESC, id DESC`
		}
		args = append(args, limit+1)
		rows, err := q.QueryContext(ctx, `SELECT id, with_addr, `+msgColumns+` FROM archive WHERE `+
			strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				am   crosstalk.ArchivedMessage
				id   int64
				with string
				ms   msgScanner
			)
			if err := rows.Scan(append([]any{&id, &with}, ms.dest(&am.Message)...)...); err != nil {
				return err
			}
			if err := ms.finish(&am.Message); err != nil {
				return err
			}
			if am.With, err = parseAddr(with); err != nil {
				return err
			}
			am.ID = formatArchiveID(id)
			page.Messages = append(page.Messages, am)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		page.Complete = len(page.Messages) <= limit
		if !page.Complete {
			page.Messages = page.Messages[:limit]
		}
		if backward {
			slices.Reverse(page.Messages)
		}
		return nil
	})
	if err != nil {
		return crosstalk.ArchivePage{}, fmt.Errorf("sqlite: query archive of %s: %w", owner, err)
	}
	return page, nil
}

// archiveBoundsSQL reads the first and the last entry of an archive in
// QueryArchive's order from the archive_owner_ts index alone (a covering
// index: SQLite keeps the rowid, id, in it), one row per end, no row for
// an empty archive. One statement is one snapshot of both ends.
const archiveBoundsSQL = `SELECT f.id, f.ts_us, l.id, l.ts_us
	FROM (SELECT id, ts_us FROM archive WHERE owner = ? ORDER BY ts_us, id LIMIT 1) AS f,
	     (SELECT id, ts_us FROM archive WHERE owner = ? ORDER BY ts_us DESC, id DESC LIMIT 1) AS l`

// ArchiveBounds returns the id and time of the first and the last message
// of the owner's archive (time, then id); ok is false when it is empty.
// A Bind 2 login runs it: the statement stays prepared (cachedQuerier)
// and, as a point read, is not interruptible once started (pointRead).
func (s *Store) ArchiveBounds(ctx context.Context, owner crosstalk.Address) (first, last crosstalk.ArchiveRef, ok bool, err error) {
	var firstID, firstTS, lastID, lastTS int64
	if ctx, err = pointRead(ctx); err == nil {
		o := owner.String()
		err = s.r().QueryRowContext(ctx, archiveBoundsSQL, o, o).Scan(&firstID, &firstTS, &lastID, &lastTS)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return crosstalk.ArchiveRef{}, crosstalk.ArchiveRef{}, false, nil
	}
	if err != nil {
		return crosstalk.ArchiveRef{}, crosstalk.ArchiveRef{}, false, fmt.Errorf("sqlite: archive bounds of %s: %w", owner, err)
	}
	first = crosstalk.ArchiveRef{ID: formatArchiveID(firstID), Time: fromMicros(firstTS)}
	last = crosstalk.ArchiveRef{ID: formatArchiveID(lastID), Time: fromMicros(lastTS)}
	return first, last, true, nil
}
