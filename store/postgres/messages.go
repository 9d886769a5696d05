package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crosstalk-im/crosstalk"
)

// msgColumns are the columns of a crosstalk.Message in the offline and
// archive tables.
const msgColumns = `msg_id, from_addr, to_addr, type, body, subject, thread, lang, ts, native_proto, native_ctype, native_payload`

func msgArgs(m *crosstalk.Message) []any {
	return []any{m.ID, addrString(m.From), addrString(m.To), m.Type.String(), m.Body, m.Subject, m.Thread, m.Lang,
		ts(m.Time), int(m.Native.Protocol), m.Native.ContentType, m.Native.Payload}
}

// placeholders returns "$from, …, $(from+n-1)".
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// msgScanner scans the msgColumns into a Message; finish completes it.
type msgScanner struct {
	from, to, typ string
	ts            time.Time
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
	m.Time = ms.ts.UTC()
	m.Native.Protocol = crosstalk.Protocol(ms.proto)
	return nil
}

// PushOffline appends a message to the owner's queue; when it returns nil
// the message is committed.
func (s *Store) PushOffline(ctx context.Context, owner crosstalk.Address, m crosstalk.Message) error {
	args := append([]any{owner.String()}, msgArgs(&m)...)
	if _, err := s.q().Exec(ctx, `INSERT INTO offline (owner, `+msgColumns+`) VALUES (`+placeholders(1, len(args))+`)`, args...); err != nil {
		return fmt.Errorf("postgres: push offline for %s: %w", owner, err)
	}
	return nil
}

// ClaimOffline removes and returns the owner's queued messages in push
// order, at most limit of them (≤ 0: all). Claims for one owner take turns
// under an advisory lock, so concurrent claims receive disjoint sets.
func (s *Store) ClaimOffline(ctx context.Context, owner crosstalk.Address, limit int) ([]crosstalk.OfflineMessage, error) {
	var lim *int64
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	var out []crosstalk.OfflineMessage
	err := s.atomic(ctx, func(q querier) error {
		out = nil
		if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "crosstalk.offline."+owner.String()); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `DELETE FROM offline WHERE seq IN (
			SELECT seq FROM offline WHERE owner = $1 ORDER BY seq LIMIT $2)
			RETURNING seq, `+msgColumns, owner.String(), lim)
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
		return nil, fmt.Errorf("postgres: claim offline for %s: %w", owner, err)
	}
	// RETURNING gives no order guarantee.
	slices.SortFunc(out, func(a, b crosstalk.OfflineMessage) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// CountOffline returns the number of queued messages.
func (s *Store) CountOffline(ctx context.Context, owner crosstalk.Address) (int, error) {
	var n int
	if err := s.q().QueryRow(ctx, `SELECT COUNT(*) FROM offline WHERE owner = $1`, owner.String()).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count offline for %s: %w", owner, err)
	}
	return n, nil
}

// archiveID is the sequence number of a given archive id, nil for none.
func archiveID(id string) (any, error) {
	if id == "" {
		return nil, nil
	}
	n, ok := parseArchiveID(id)
	if !ok {
		return nil, fmt.Errorf("postgres: %q is not an archive id", id)
	}
	return n, nil
}

// AppendArchive stores a message in the owner's archive and returns its id:
// m.ID when set, else a new one. New ids sort in the order messages were
// appended.
func (s *Store) AppendArchive(ctx context.Context, owner crosstalk.Address, m crosstalk.ArchivedMessage) (string, error) {
	given, err := archiveID(m.ID)
	if err != nil {
		return "", err
	}
	args := append([]any{given, owner.String(), addrString(m.With)}, msgArgs(&m.Message)...)
	var id int64
	err = s.q().QueryRow(ctx, `INSERT INTO archive (id, owner, with_addr, `+msgColumns+`)
		VALUES (COALESCE($1::bigint, nextval('archive_id_seq')), `+placeholders(2, len(args)-1)+`) RETURNING id`, args...).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("postgres: append archive of %s: %w", owner, err)
	}
	return formatArchiveID(id), nil
}

// archiveCopyColumns are the columns AppendArchiveBatch copies.
var archiveCopyColumns = append([]string{"owner", "with_addr"}, strings.Split(strings.ReplaceAll(msgColumns, " ", ""), ",")...)

// AppendArchiveBatch stores entries in order with one COPY, which is
// atomic; the id sequence follows the row order, so ids sort as given.
// Entries with ids are copied with them (then every entry needs one).
func (s *Store) AppendArchiveBatch(ctx context.Context, entries []crosstalk.ArchiveEntry) error {
	if len(entries) == 0 {
		return ctx.Err()
	}
	withIDs := entries[0].ID != ""
	cols := archiveCopyColumns
	if withIDs {
		cols = append([]string{"id"}, archiveCopyColumns...)
	}
	rows := pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
		e := &entries[i]
		row := append([]any{e.Owner.String(), addrString(e.With)}, msgArgs(&e.Message)...)
		if (e.ID != "") != withIDs {
			return nil, fmt.Errorf("postgres: archive batch mixes entries with and without ids")
		}
		if withIDs {
			id, err := archiveID(e.ID)
			if err != nil {
				return nil, err
			}
			row = append([]any{id}, row...)
		}
		return row, nil
	})
	var err error
	if s.tx != nil {
		_, err = s.tx.CopyFrom(ctx, pgx.Identifier{"archive"}, cols, rows)
	} else {
		_, err = s.pool.CopyFrom(ctx, pgx.Identifier{"archive"}, cols, rows)
	}
	if err != nil {
		return fmt.Errorf("postgres: append %d archive entries: %w", len(entries), err)
	}
	return nil
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
		page = crosstalk.ArchivePage{}
		where := []string{`owner = $1`}
		args := []any{owner.String()}
		arg := func(v any) string {
			args = append(args, v)
			return "$" + strconv.Itoa(len(args))
		}
		if !aq.With.IsZero() {
			where = append(where, `with_addr = `+arg(aq.With.String()))
		}
		if !aq.Start.IsZero() {
			where = append(where, `ts >= `+arg(ts(aq.Start)))
		}
		if !aq.End.IsZero() {
			where = append(where, `ts <= `+arg(ts(aq.End)))
		}
		for _, b := range []struct {
			id, op string
		}{{aq.After, ">"}, {aq.Before, "<"}} {
			if b.id == "" {
				continue
			}
			id, ok := parseArchiveID(b.id)
			var at time.Time
			if ok {
				err := q.QueryRow(ctx, `SELECT ts FROM archive WHERE owner = $1 AND id = $2`, owner.String(), id).Scan(&at)
				if errors.Is(err, pgx.ErrNoRows) {
					ok = false
				} else if err != nil {
					return err
				}
			}
			if !ok {
				return fmt.Errorf("archive id %q: %w", b.id, crosstalk.ErrNotFound)
			}
			where = append(where, `(ts, id) `+b.op+` (`+arg(at)+`, `+arg(id)+`)`)
		}
		backward := aq.Before != "" || aq.Last
		order := `ts, id`
		if backward {
			order = `ts DESC, id DESC`
		}
		rows, err := q.Query(ctx, `SELECT id, with_addr, `+msgColumns+` FROM archive WHERE `+
			strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT `+arg(limit+1), args...)
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
		return crosstalk.ArchivePage{}, fmt.Errorf("postgres: query archive of %s: %w", owner, err)
	}
	return page, nil
}

// archiveBoundsSQL reads the first and the last entry of an archive in
// QueryArchive's order with two index-only scans of archive_owner_ts (one
// forward, one backward, one row each), one row in all, none for an empty
// archive. One statement is one snapshot of both ends.
const archiveBoundsSQL = `SELECT f.id, f.ts, l.id, l.ts
	FROM (SELECT id, ts FROM archive WHERE owner = $1 ORDER BY ts, id LIMIT 1) AS f,
	     (SELECT id, ts FROM archive WHERE owner = $1 ORDER BY ts DESC, id DESC LIMIT 1) AS l`

// ArchiveBounds returns the id and time of the first and the last message
// of the owner's archive (time, then id); ok is false when it is empty.
// pgx keeps the statement prepared on each connection (its statement
// cache): a Bind 2 login runs it.
func (s *Store) ArchiveBounds(ctx context.Context, owner crosstalk.Address) (first, last crosstalk.ArchiveRef, ok bool, err error) {
	var (
		firstID, lastID int64
		firstTS, lastTS time.Time
	)
	err = s.q().QueryRow(ctx, archiveBoundsSQL, owner.String()).Scan(&firstID, &firstTS, &lastID, &lastTS)
	if errors.Is(err, pgx.ErrNoRows) {
		return crosstalk.ArchiveRef{}, crosstalk.ArchiveRef{}, false, nil
	}
	if err != nil {
		return crosstalk.ArchiveRef{}, crosstalk.ArchiveRef{}, false, fmt.Errorf("postgres: archive bounds of %s: %w", owner, err)
	}
	first = crosstalk.ArchiveRef{ID: formatArchiveID(firstID), Time: firstTS.UTC()}
	last = crosstalk.ArchiveRef{ID: formatArchiveID(lastID), Time: lastTS.UTC()}
	return first, last, true, nil
}
