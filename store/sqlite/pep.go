package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/crosstalk-im/crosstalk"
)

// maxItems is a node's item bound as stored: at least 1.
func maxItems(n int) int { return max(n, 1) }

// trimPEP removes the oldest items of a node beyond its bound.
func trimPEP(ctx context.Context, q querier, owner, node string, keep int) error {
	_, err := q.ExecContext(ctx, `DELETE FROM pep_items WHERE owner = ? AND node = ? AND seq NOT IN (
		SELECT seq FROM pep_items WHERE owner = ? AND node = ? ORDER BY seq DESC LIMIT ?)`,
		owner, node, owner, node, keep)
	return err
}

// PutPEPNode creates a node or replaces its configuration, removing the
// oldest items beyond the new MaxItems.
func (s *Store) PutPEPNode(ctx context.Context, n crosstalk.PEPNode) error {
	err := s.atomic(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO pep_nodes (owner, node, access, max_items) VALUES (?, ?, ?, ?)
			ON CONFLICT (owner, node) DO UPDATE SET access = excluded.access, max_items = excluded.max_items`,
			n.Owner.String(), n.Node, n.Access, maxItems(n.MaxItems)); err != nil {
			return err
		}
		return trimPEP(ctx, q, n.Owner.String(), n.Node, maxItems(n.MaxItems))
	})
	if err != nil {
		return fmt.Errorf("sqlite: put pep node %s of %s: %w", n.Node, n.Owner, err)
	}
	return nil
}

// GetPEPNode returns a node; crosstalk.ErrNotFound if there is none.
func (s *Store) GetPEPNode(ctx context.Context, owner crosstalk.Address, node string) (crosstalk.PEPNode, error) {
	n := crosstalk.PEPNode{Owner: owner, Node: node}
	err := s.r().QueryRowContext(ctx, `SELECT access, max_items FROM pep_nodes WHERE owner = ? AND node = ?`,
		owner.String(), node).Scan(&n.Access, &n.MaxItems)
	if errors.Is(err, sql.ErrNoRows) {
		err = crosstalk.ErrNotFound
	}
	if err != nil {
		return crosstalk.PEPNode{}, fmt.Errorf("sqlite: get pep node %s of %s: %w", node, owner, err)
	}
	return n, nil
}

// ListPEPNodes returns the owner's nodes sorted by name.
func (s *Store) ListPEPNodes(ctx context.Context, owner crosstalk.Address) ([]crosstalk.PEPNode, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT node, access, max_items FROM pep_nodes WHERE owner = ? ORDER BY node`, owner.String())
	if err != nil {
		return nil, fmt.Errorf("sqlite: list pep nodes of %s: %w", owner, err)
	}
	defer rows.Close()
	var l []crosstalk.PEPNode
	for rows.Next() {
		n := crosstalk.PEPNode{Owner: owner}
		if err := rows.Scan(&n.Node, &n.Access, &n.MaxItems); err != nil {
			return nil, fmt.Errorf("sqlite: list pep nodes of %s: %w", owner, err)
		}
		l = append(l, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list pep nodes of %s: %w", owner, err)
	}
	return l, nil
}

// DeletePEPNode removes a node and its items; crosstalk.ErrNotFound if
// there was none.
func (s *Store) DeletePEPNode(ctx context.Context, owner crosstalk.Address, node string) error {
	err := s.atomic(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM pep_nodes WHERE owner = ? AND node = ?`, owner.String(), node)
		if err := affected(res, err, crosstalk.ErrNotFound); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `DELETE FROM pep_items WHERE owner = ? AND node = ?`, owner.String(), node)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete pep node %s of %s: %w", node, owner, err)
	}
	return nil
}

// PublishPEPItem stores an item as the node's newest, replacing one with
// the same id, and trims the node; crosstalk.ErrNotFound without a node.
func (s *Store) PublishPEPItem(ctx context.Context, owner crosstalk.Address, node string, it crosstalk.PEPItem) error {
	err := s.atomic(ctx, func(q querier) error {
		var keep int
		err := q.QueryRowContext(ctx, `SELECT max_items FROM pep_nodes WHERE owner = ? AND node = ?`, owner.String(), node).Scan(&keep)
		if errors.Is(err, sql.ErrNoRows) {
			return crosstalk.ErrNotFound
		} else if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM pep_items WHERE owner = ? AND node = ? AND item_id = ?`,
			owner.String(), node, it.ID); err != nil {
			return err
		}
		payload := it.Payload
		if payload == nil {
			payload = []byte{}
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO pep_items (owner, node, item_id, payload, published_us) VALUES (?, ?, ?, ?, ?)`,
			owner.String(), node, it.ID, payload, toMicros(it.Published)); err != nil {
			return err
		}
		return trimPEP(ctx, q, owner.String(), node, maxItems(keep))
	})
	if err != nil {
		return fmt.Errorf("sqlite: publish %s/%s of %s: %w", node, it.ID, owner, err)
	}
	return nil
}

// PEPItems returns a node's items newest first, filtered by ids when given,
// at most max of them; crosstalk.ErrNotFound if there is no node.
func (s *Store) PEPItems(ctx context.Context, owner crosstalk.Address, node string, ids []string, max int) ([]crosstalk.PEPItem, error) {
	var l []crosstalk.PEPItem
	err := s.read(ctx, func(q querier) error {
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM pep_nodes WHERE owner = ? AND node = ?`, owner.String(), node).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return crosstalk.ErrNotFound
		} else if err != nil {
			return err
		}
		query := `SELECT item_id, payload, published_us FROM pep_items WHERE owner = ? AND node = ?`
		args := []any{owner.String(), node}
		if len(ids) > 0 {
			query += ` AND item_id IN (` + placeholders(len(ids)) + `)`
			for _, id := range ids {
				args = append(args, id)
			}
		}
		query += ` ORDER BY seq DESC`
		if max > 0 {
			query += ` LIMIT ?`
			args = append(args, max)
		}
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it crosstalk.PEPItem
			var at int64
			if err := rows.Scan(&it.ID, &it.Payload, &at); err != nil {
				return err
			}
			it.Published = fromMicros(at)
			l = append(l, it)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: pep items %s of %s: %w", node, owner, err)
	}
	return l, nil
}

// RetractPEPItem removes one item; crosstalk.ErrNotFound if there was none.
func (s *Store) RetractPEPItem(ctx context.Context, owner crosstalk.Address, node, id string) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM pep_items WHERE owner = ? AND node = ? AND item_id = ?`, owner.String(), node, id)
	err = affected(res, err, crosstalk.ErrNotFound)
	if err != nil {
		return fmt.Errorf("sqlite: retract %s/%s of %s: %w", node, id, owner, err)
	}
	return nil
}

// PutVCard creates or replaces the owner's vCard.
func (s *Store) PutVCard(ctx context.Context, owner crosstalk.Address, vcard []byte) error {
	if vcard == nil {
		vcard = []byte{}
	}
	if _, err := s.w().ExecContext(ctx, `INSERT INTO vcards (owner, vcard) VALUES (?, ?)
		ON CONFLICT (owner) DO UPDATE SET vcard = excluded.vcard`, owner.String(), vcard); err != nil {
		return fmt.Errorf("sqlite: put vcard of %s: %w", owner, err)
	}
	return nil
}

// GetVCard returns the owner's vCard; crosstalk.ErrNotFound if there is none.
func (s *Store) GetVCard(ctx context.Context, owner crosstalk.Address) ([]byte, error) {
	var v []byte
	err := s.r().QueryRowContext(ctx, `SELECT vcard FROM vcards WHERE owner = ?`, owner.String()).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		err = crosstalk.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get vcard of %s: %w", owner, err)
	}
	return v, nil
}

// PutLastActivity creates or replaces the owner's last activity.
func (s *Store) PutLastActivity(ctx context.Context, owner crosstalk.Address, la crosstalk.LastActivity) error {
	if _, err := s.w().ExecContext(ctx, `INSERT INTO last_activity (owner, at_us, status) VALUES (?, ?, ?)
		ON CONFLICT (owner) DO UPDATE SET at_us = excluded.at_us, status = excluded.status`,
		owner.String(), toMicros(la.At), la.Status); err != nil {
		return fmt.Errorf("sqlite: put last activity of %s: %w", owner, err)
	}
	return nil
}

// GetLastActivity returns the owner's last activity; crosstalk.ErrNotFound
// if none was recorded.
func (s *Store) GetLastActivity(ctx context.Context, owner crosstalk.Address) (crosstalk.LastActivity, error) {
	var la crosstalk.LastActivity
	var at int64
	err := s.r().QueryRowContext(ctx, `SELECT at_us, status FROM last_activity WHERE owner = ?`, owner.String()).Scan(&at, &la.Status)
	if errors.Is(err, sql.ErrNoRows) {
		err = crosstalk.ErrNotFound
	}
	if err != nil {
		return crosstalk.LastActivity{}, fmt.Errorf("sqlite: get last activity of %s: %w", owner, err)
	}
	la.At = fromMicros(at)
	return la, nil
}
