package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crosstalk-im/crosstalk"
)

const rosterColumns = `contact, name, groups, subscription, pending_out, pending_in, pre_approved, version`

func scanRosterItem(row pgx.Row) (crosstalk.RosterItem, error) {
	var (
		it          crosstalk.RosterItem
		contact, su string
		groups      []string
	)
	if err := row.Scan(&contact, &it.Name, &groups, &su, &it.PendingOut, &it.PendingIn, &it.PreApproved, &it.Version); err != nil {
		return it, err
	}
	var err error
	if it.Contact, err = parseAddr(contact); err != nil {
		return it, err
	}
	it.Groups = unlist(groups)
	it.Subscription = crosstalk.ParseSubscription(su)
	return it, nil
}

// GetRoster returns the owner's items sorted by contact and the current
// version.
func (s *Store) GetRoster(ctx context.Context, owner crosstalk.Address) (crosstalk.Roster, error) {
	var r crosstalk.Roster
	err := s.read(ctx, func(q querier) error {
		r = crosstalk.Roster{}
		err := q.QueryRow(ctx, `SELECT version FROM roster_versions WHERE owner = $1`, owner.String()).Scan(&r.Version)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+rosterColumns+` FROM roster_items WHERE owner = $1 ORDER BY contact`, owner.String())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it, err := scanRosterItem(rows)
			if err != nil {
				return err
			}
			r.Items = append(r.Items, it)
		}
		return rows.Err()
	})
	if err != nil {
		return crosstalk.Roster{}, fmt.Errorf("postgres: get roster %s: %w", owner, err)
	}
	return r, nil
}

// GetRosterItem returns one item; crosstalk.ErrNotFound if there is none.
func (s *Store) GetRosterItem(ctx context.Context, owner, contact crosstalk.Address) (crosstalk.RosterItem, error) {
	it, err := scanRosterItem(s.q().QueryRow(ctx, `SELECT `+rosterColumns+` FROM roster_items WHERE owner = $1 AND contact = $2`,
		owner.String(), contact.String()))
	if errors.Is(err, pgx.ErrNoRows) {
		return crosstalk.RosterItem{}, fmt.Errorf("postgres: get roster item %s of %s: %w", contact, owner, crosstalk.ErrNotFound)
	}
	if err != nil {
		return crosstalk.RosterItem{}, fmt.Errorf("postgres: get roster item %s of %s: %w", contact, owner, err)
	}
	return it, nil
}

// bumpRosterVersion raises the owner's roster version by one and returns
// it. The row lock it takes orders concurrent writers.
func bumpRosterVersion(ctx context.Context, q querier, owner string) (int64, error) {
	var v int64
	err := q.QueryRow(ctx, `INSERT INTO roster_versions (owner, version) VALUES ($1, 1)
		ON CONFLICT (owner) DO UPDATE SET version = roster_versions.version + 1
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
		_, err = q.Exec(ctx, `INSERT INTO roster_items (owner, `+rosterColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (owner, contact) DO UPDATE SET
				name = excluded.name, groups = excluded.groups,
				subscription = excluded.subscription, pending_out = excluded.pending_out,
				pending_in = excluded.pending_in, pre_approved = excluded.pre_approved,
				version = excluded.version`,
			owner.String(), it.Contact.String(), it.Name, list(it.Groups), it.Subscription.String(),
			it.PendingOut, it.PendingIn, it.PreApproved, v)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: put roster item %s of %s: %w", it.Contact, owner, err)
	}
	return v, nil
}

// DeleteRosterItem removes an item and returns the new version;
// crosstalk.ErrNotFound if there was none.
func (s *Store) DeleteRosterItem(ctx context.Context, owner, contact crosstalk.Address) (int64, error) {
	var v int64
	err := s.atomic(ctx, func(q querier) error {
		// The version row is locked first, as PutRosterItem does: the same
		// lock order keeps concurrent puts and deletes free of deadlocks.
		var err error
		if v, err = bumpRosterVersion(ctx, q, owner.String()); err != nil {
			return err
		}
		tag, err := q.Exec(ctx, `DELETE FROM roster_items WHERE owner = $1 AND contact = $2`, owner.String(), contact.String())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return crosstalk.ErrNotFound // rolls the version back
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: delete roster item %s of %s: %w", contact, owner, err)
	}
	return v, nil
}

// Block adds addresses to the owner's blocklist; blocking twice is no error.
func (s *Store) Block(ctx context.Context, owner crosstalk.Address, addrs ...crosstalk.Address) error {
	if len(addrs) == 0 {
		return nil
	}
	if _, err := s.q().Exec(ctx, `INSERT INTO blocklist (owner, addr) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
		owner.String(), strs(addrs)); err != nil {
		return fmt.Errorf("postgres: block for %s: %w", owner, err)
	}
	return nil
}

// Unblock removes addresses; with none, it empties the list.
func (s *Store) Unblock(ctx context.Context, owner crosstalk.Address, addrs ...crosstalk.Address) error {
	var err error
	if len(addrs) == 0 {
		_, err = s.q().Exec(ctx, `DELETE FROM blocklist WHERE owner = $1`, owner.String())
	} else {
		_, err = s.q().Exec(ctx, `DELETE FROM blocklist WHERE owner = $1 AND addr = ANY($2::text[])`, owner.String(), strs(addrs))
	}
	if err != nil {
		return fmt.Errorf("postgres: unblock for %s: %w", owner, err)
	}
	return nil
}

// Blocklist returns the owner's blocked addresses, sorted.
func (s *Store) Blocklist(ctx context.Context, owner crosstalk.Address) ([]crosstalk.Address, error) {
	rows, err := s.q().Query(ctx, `SELECT addr FROM blocklist WHERE owner = $1 ORDER BY addr`, owner.String())
	if err != nil {
		return nil, fmt.Errorf("postgres: blocklist of %s: %w", owner, err)
	}
	l, err := scanAddrs(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: blocklist of %s: %w", owner, err)
	}
	return l, nil
}

// IsBlocked reports whether the owner blocks addr: its full address, its bare
// address, its domain with its resource, or its domain (XEP-0191 §3.5, the
// XEP-0016 JID matching it refers to).
func (s *Store) IsBlocked(ctx context.Context, owner, addr crosstalk.Address) (bool, error) {
	var b bool
	err := s.q().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blocklist WHERE owner = $1 AND addr = ANY($2::text[]))`,
		owner.String(), blockCandidates(addr)).Scan(&b)
	if err != nil {
		return false, fmt.Errorf("postgres: is %s blocked by %s: %w", addr, owner, err)
	}
	return b, nil
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

func strs(addrs []crosstalk.Address) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}
