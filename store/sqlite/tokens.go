package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// PutLoginToken stores t as its client's unused token, replacing the one
// before it, removes the owner's expired tokens and keeps the owner's
// maxClients most recent clients.
func (s *Store) PutLoginToken(ctx context.Context, t crosstalk.LoginToken, maxClients int) error {
	owner := t.Owner.String()
	err := s.atomic(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO login_tokens (id, owner, client, mechanism, used, issued_us, expiry_us, creds)
			VALUES (?, ?, ?, ?, 0, ?, ?, ?)
			ON CONFLICT (owner, client, used) DO UPDATE SET id = excluded.id, mechanism = excluded.mechanism,
				issued_us = excluded.issued_us, expiry_us = excluded.expiry_us, creds = excluded.creds`,
			t.ID, owner, t.Client, t.Mechanism, toMicros(t.Issued), toMicros(t.Expiry), nonNil(t.Credentials)); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM login_tokens WHERE owner = ? AND expiry_us <= ?`, owner, toMicros(t.Issued)); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `DELETE FROM login_tokens WHERE owner = ? AND client NOT IN (
			SELECT client FROM login_tokens WHERE owner = ? GROUP BY client ORDER BY MAX(issued_us) DESC, client LIMIT ?)`,
			owner, owner, max(maxClients, 1))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put login token of %s: %w", t.Owner, err)
	}
	return nil
}

// ClientLoginTokens returns a client's tokens, the unused one first.
func (s *Store) ClientLoginTokens(ctx context.Context, owner crosstalk.Address, client string) ([]crosstalk.LoginToken, error) {
	ctx, err := pointRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: login tokens of %s: %w", owner, err)
	}
	rows, err := s.r().QueryContext(ctx, `SELECT id, mechanism, used, issued_us, expiry_us, creds FROM login_tokens
		WHERE owner = ? AND client = ? ORDER BY used`, owner.String(), client)
	if err != nil {
		return nil, fmt.Errorf("sqlite: login tokens of %s: %w", owner, err)
	}
	defer rows.Close()
	var l []crosstalk.LoginToken
	for rows.Next() {
		t := crosstalk.LoginToken{Owner: owner, Client: client}
		var issued, expiry int64
		if err := rows.Scan(&t.ID, &t.Mechanism, &t.Used, &issued, &expiry, &t.Credentials); err != nil {
			return nil, fmt.Errorf("sqlite: login tokens of %s: %w", owner, err)
		}
		t.Issued, t.Expiry = fromMicros(issued), fromMicros(expiry)
		l = append(l, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: login tokens of %s: %w", owner, err)
	}
	return l, nil
}

// UseLoginToken marks a token used and removes its client's token used
// before it; crosstalk.ErrNotFound if the token is not there.
func (s *Store) UseLoginToken(ctx context.Context, owner crosstalk.Address, client string, id []byte) error {
	err := s.atomic(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM login_tokens WHERE owner = ? AND client = ? AND used = 1 AND id <> ?`,
			owner.String(), client, id); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE login_tokens SET used = 1 WHERE owner = ? AND client = ? AND id = ?`,
			owner.String(), client, id)
		if err := affected(res, err, crosstalk.ErrNotFound); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: use login token of %s: %w", owner, err)
	}
	return nil
}

// DeleteLoginToken removes one token; crosstalk.ErrNotFound if there was
// none.
func (s *Store) DeleteLoginToken(ctx context.Context, owner crosstalk.Address, client string, id []byte) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM login_tokens WHERE owner = ? AND client = ? AND id = ?`, owner.String(), client, id)
	err = affected(res, err, crosstalk.ErrNotFound)
	if err != nil {
		return fmt.Errorf("sqlite: delete login token of %s: %w", owner, err)
	}
	return nil
}

// DeleteExpiredLoginTokens removes at most limit tokens (≤ 0: all) expired
// at now, soonest expired first, and returns how many.
func (s *Store) DeleteExpiredLoginTokens(ctx context.Context, now time.Time, limit int) (int, error) {
	q, args := `DELETE FROM login_tokens WHERE expiry_us <= ?`, []any{toMicros(now)}
	if limit > 0 {
		q = `DELETE FROM login_tokens WHERE id IN (SELECT id FROM login_tokens WHERE expiry_us <= ? ORDER BY expiry_us LIMIT ?)`
		args = append(args, limit)
	}
	res, err := s.w().ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired login tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired login tokens: %w", err)
	}
	return int(n), nil
}

// nonNil is b, or an empty slice for nil (NOT NULL columns).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
