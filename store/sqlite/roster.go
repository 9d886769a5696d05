package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/crosstalk-im/crosstalk"
)

const rosterColumns = `contact, name, groups_json, subscription, pending_out, pending_in, pre_approved, version`

func scanRosterItem(sc interface{ Scan(...any) error }) (crosstalk.RosterItem, error) {
	var raw rawRosterItem
	if err := sc.Scan(raw.dest()...); err != nil {
		return crosstalk.RosterItem{}, err
	}
	return raw.item()
}

// rawRosterItem holds the columns of rosterColumns as scanned.
type rawRosterItem struct {
	it                  crosstalk.RosterItem
	contact, groups, su string
	out, in, pre        bool
}

func (r *rawRosterItem) dest() []any {
	return []any{&r.contact, &r.it.Name, &r.groups, &r.su, &r.out, &r.in, &r.pre, &r.it.Version}
}

func (r *rawRosterItem) item() (crosstalk.RosterItem, error) {
	it := r.it
	var err error
	if it.Contact, err = parseAddr(r.contact); err != nil {
		return it, err
	}
	if it.Groups, err = decodeList(r.groups); err != nil {
		return it, err
	}
	it.Subscription = crosstalk.ParseSubscription(r.su)
	it.PendingOut, it.PendingIn, it.PreApproved = r.out, r.in, r.pre
	return it, nil
}

// rosterQuery reads a roster's version and items in one statement, so on
// one snapshot without a read transaction around two (BEGIN, two
// statements, ROLLBACK cost a login about as much as the reads): the
// version row (k = 0, when there is one) comes first, then the items by
// contact.
const rosterQuery = `SELECT 0 AS k, version, '' AS contact, '', '[]', '', 0, 0, 0, 0 FROM roster_versions WHERE owner = ?1
	UNION ALL
	SELECT 1, 0, ` + rosterColumns + ` FROM roster_items WHERE owner = ?1
	ORDER BY 1, 3`

// GetRoster returns the owner's items sorted by contact and the current
// version.
func (s *Store) GetRoster(ctx context.Context, owner crosstalk.Address) (crosstalk.Roster, error) {
	var r crosstalk.Roster
	err := func() error {
		ctx, err := pointRead(ctx)
		if err != nil {
			return err
		}
		rows, err := s.r().QueryContext(ctx, rosterQuery, owner.String())
		if err != nil {
			return err
		}
		defer rows.Close()
		var k int
		var version int64
		var raw rawRosterItem
		dest := append([]any{&k, &version}, raw.dest()...)
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if k == 0 {
				r.Version = version
				continue
			}
			it, err := raw.item()
			if err != nil {
				return err
			}
			r.Items = append(r.Items, it)
		}
		return rows.Err()
	}()
	if err != nil {
		return crosstalk.Roster{}, fmt.Errorf("sqlite: get roster %s: %w", owner, err)
	}
	return r, nil
}

// GetRosterItem returns one item; crosstalk.ErrNotFound if there is none.
func (s *Store) GetRosterItem(ctx context.Context, owner, contact crosstalk.Address) (crosstalk.RosterItem, error) {
	it, err := scanRosterItem(s.r().QueryRowContext(ctx, `SELECT `+rosterColumns+` FROM roster_items WHERE owner = ? AND contact = ?`,
		owner.String(), contact.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return crosstalk.RosterItem{}, fmt.Errorf("sqlite: get roster item %s of %s: %w", contact, owner, crosstalk.ErrNotFound)
	}
	if err != nil {
		return crosstalk.RosterItem{}, fmt.Errorf("sqlite: get roster item %s of %s: %w", contact, owner, err)
	}
	return it, nil
}

// bumpRosterVersion raises the owner's roster version by one and returns it.
func bumpRosterVersion(ctx context.Context, q querier, owner string) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `INSERT INTO roster_versions (owner, version) VALUES (?, 1)
		ON CONFLICT (owner) DO UPDATE SET version = version + 1
		RETURNING version`, owner).Scan(&v)
	return v, err
}

// PutRosterItem creates or replaces an item and returns the new version,
// also stored as the item's Version.
func (s *Store) PutRosterItem(ctx context.Context, owner crosstalk.Address, it crosstalk.RosterItem) (int64, error) {
	var v int64
	err := s.atomic(ctx, func(q querier) error {
		var err error
		if v, err = bumpRosterVersion(ctx, q, owner.String()); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `INSERT INTO roster_items (owner, `+rosterColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (owner, contact) DO UPDATE SET
				name = excluded.name, groups_json = excluded.groups_json,
				subscription = excluded.subscription, pending_out = excluded.pending_out,
				pending_in = excluded.pending_in, pre_approved = excluded.pre_approved,
				version = excluded.version`,
			owner.String(), it.Contact.String(), it.Name, encodeList(it.Groups), it.Subscription.String(),
			boolInt(it.PendingOut), boolInt(it.PendingIn), boolInt(it.PreApproved), v)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: put roster item %s of %s: %w", it.Contact, owner, err)
	}
	return v, nil
}

// DeleteRosterItem removes an item and returns the new version;
// crosstalk.ErrNotFound if there was none.
func (s *Store) DeleteRosterItem(ctx context.Context, owner, contact crosstalk.Address) (int64, error) {
	var v int64
	err := s.atomic(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM roster_items WHERE owner = ? AND contact = ?`, owner.String(), contact.String())
		if err := affected(res, err, crosstalk.ErrNotFound); err != nil {
			return err
		}
		v, err = bumpRosterVersion(ctx, q, owner.String())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete roster item %s of %s: %w", contact, owner, err)
	}
	return v, nil
}

// Block adds addresses to the owner's blocklist; blocking twice is no error.
func (s *Store) Block(ctx context.Context, owner crosstalk.Address, addrs ...crosstalk.Address) error {
	if len(addrs) == 0 {
		return nil
	}
	err := s.atomic(ctx, func(q querier) error {
		for _, a := range addrs {
			if _, err := q.ExecContext(ctx, `INSERT INTO blocklist (owner, addr) VALUES (?, ?) ON CONFLICT DO NOTHING`,
				owner.String(), a.String()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: block for %s: %w", owner, err)
	}
	return nil
}

// Unblock removes addresses; with none, it empties the list.
func (s *Store) Unblock(ctx context.Context, owner crosstalk.Address, addrs ...crosstalk.Address) error {
	var err error
	if len(addrs) == 0 {
		_, err = s.w().ExecContext(ctx, `DELETE FROM blocklist WHERE owner = ?`, owner.String())
	} else {
		args := []any{owner.String()}
		for _, a := range addrs {
			args = append(args, a.String())
		}
		_, err = s.w().ExecContext(ctx, `DELETE FROM blocklist WHERE owner = ? AND addr IN (`+placeholders(len(addrs))+`)`, args...)
	}
	if err != nil {
		return fmt.Errorf("sqlite: unblock for %s: %w", owner, err)
	}
	return nil
}

// Blocklist returns the owner's blocked addresses, sorted.
func (s *Store) Blocklist(ctx context.Context, owner crosstalk.Address) ([]crosstalk.Address, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT addr FROM blocklist WHERE owner = ? ORDER BY addr`, owner.String())
	if err != nil {
		return nil, fmt.Errorf("sqlite: blocklist of %s: %w", owner, err)
	}
	l, err := scanAddrs(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: blocklist of %s: %w", owner, err)
	}
	return l, nil
}

// IsBlocked reports whether the owner blocks addr: its full address, its bare
// address, its domain with its resource, or its domain (XEP-0191 §3.5, the
// XEP-0016 JID matching it refers to).
func (s *Store) IsBlocked(ctx context.Context, owner, addr crosstalk.Address) (bool, error) {
	cands := blockCandidates(addr)
	args := []any{owner.String()}
	for _, c := range cands {
		args = append(args, c)
	}
	var n int
	err := s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM blocklist WHERE owner = ? AND addr IN (`+placeholders(len(cands))+`)`, args...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sqlite: is %s blocked by %s: %w", addr, owner, err)
	}
	return n > 0, nil
}

// blockCandidates lists the stored forms a blocklist entry matching addr may
// have.
func blockCandidates(addr crosstalk.Address) []string {
	c := []string{addr.String()}
	if !addr.IsBare() {
		c = append(c, addr.Bare().String())
	}
	if addr.Local() != "" {
		dom, err := crosstalk.NewAddress("", addr.Domain(), "")
		if err == nil {
			c = append(c, dom.String())
		}
		if !addr.IsBare() {
			if dr, err := crosstalk.NewAddress("", addr.Domain(), addr.Resource()); err == nil {
				c = append(c, dr.String())
			}
		}
	}
	return c
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
