package postgres

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
		if _, err := q.Exec(ctx, `INSERT INTO login_tokens (id, owner, client, mechanism, used, issued, expiry, creds)
			VALUES ($1, $2, $3, $4, false, $5, $6, $7)
			ON CONFLICT (owner, client, used) DO UPDATE SET id = excluded.id, mechanism = excluded.mechanism,
				issued = excluded.issued, expiry = excluded.expiry, creds = excluded.creds`,
			t.ID, owner, t.Client, t.Mechanism, ts(t.Issued), ts(t.Expiry), nonNil(t.Credentials)); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM login_tokens WHERE owner = $1 AND expiry <= $2`, owner, ts(t.Issued)); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM login_tokens WHERE owner = $1 AND client NOT IN (
			SELECT client FROM login_tokens WHERE owner = $1 GROUP BY client ORDER BY MAX(issued) DESC, client LIMIT $2)`,
			owner, max(maxClients, 1))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: put login token of %s: %w", t.Owner, err)
	}
	return nil
}

// ClientLoginTokens returns a client's tokens, the unused one first.
func (s *Store) ClientLoginTokens(ctx context.Context, owner crosstalk.Address, client string) ([]crosstalk.LoginToken, error) {
	rows, err := s.q().Query(ctx, `SELECT id, mechanism, used, issued, expiry, creds FROM login_tokens
		WHERE owner = $1 AND client = $2 ORDER BY used`, owner.String(), client)
	if err != nil {
		return nil, fmt.Errorf("postgres: login tokens of %s: %w", owner, err)
	}
	defer rows.Close()
	var l []crosstalk.LoginToken
	for rows.Next() {
		t := crosstalk.LoginToken{Owner: owner, Client: client}
		if err := rows.Scan(&t.ID, &t.Mechanism, &t.Used, &t.Issued, &t.Expiry, &t.Credentials); err != nil {
			return nil, fmt.Errorf("postgres: login tokens of %s: %w", owner, err)
		}
		t.Issued, t.Expiry = t.Issued.UTC(), t.Expiry.UTC()
		l = append(l, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: login tokens of %s: %w", owner, err)
	}
	return l, nil
}

// UseLoginToken marks a token used and removes its client's token used
// before it; crosstalk.ErrNotFound if the token is not there.
func (s *Store) UseLoginToken(ctx context.Context, owner crosstalk.Address, client string, id []byte) error {
	err := s.atomic(ctx, func(q querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM login_tokens WHERE owner = $1 AND client = $2 AND used AND id <> $3`,
			owner.String(), client, id); err != nil {
			return err
		}
		tag, err := q.Exec(ctx, `UPDATE login_tokens SET used = true WHERE owner = $1 AND client = $2 AND id = $3`,
			owner.String(), client, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return crosstalk.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: use login token of %s: %w", owner, err)
	}
	return nil
}

// DeleteLoginToken removes one token; crosstalk.ErrNotFound if there was
// none.
func (s *Store) DeleteLoginToken(ctx context.Context, owner crosstalk.Address, client string, id []byte) error {
	tag, err := s.q().Exec(ctx, `DELETE FROM login_tokens WHERE owner = $1 AND client = $2 AND id = $3`, owner.String(), client, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = crosstalk.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: delete login token of %s: %w", owner, err)
	}
	return nil
}

// DeleteExpiredLoginTokens removes at most limit tokens (≤ 0: all) expired
// at now, soonest expired first, and returns how many.
func (s *Store) DeleteExpiredLoginTokens(ctx context.Context, now time.Time, limit int) (int, error) {
	q, args := `DELETE FROM login_tokens WHERE expiry <= $1`, []any{ts(now)}
	if limit > 0 {
		q = `DELETE FROM login_tokens WHERE id IN (SELECT id FROM login_tokens WHERE expiry <= $1 ORDER BY expiry LIMIT $2)`
		args = append(args, limit)
	}
	tag, err := s.q().Exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired login tokens: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// nonNil is b, or an empty slice for nil (NOT NULL columns).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
