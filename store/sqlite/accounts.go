package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/crosstalk-im/crosstalk"
)

// CreateAccount stores a new account; crosstalk.ErrAccountExists if it
// exists. A zero Created is set to now.
func (s *Store) CreateAccount(ctx context.Context, a crosstalk.Account) error {
	addr := a.Address
	if a.Address.IsZero() {
		return fmt.Errorf("sqlite: create account: empty address: %w", crosstalk.ErrInvalidAddress)
	}
	created := a.Created
	if created.IsZero() {
		created = nowUTC()
	}
	c := a.Credentials
	res, err := s.w().ExecContext(ctx, `INSERT INTO accounts (addr, domain, created_us,
		scram1_salt, scram1_iter, scram1_stored, scram1_server,
		scram256_salt, scram256_iter, scram256_stored, scram256_server,
		realm, ha1_md5, ha1_sha256)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (addr) DO NOTHING`,
		addr.String(), addr.Domain(), toMicros(created),
		c.SCRAMSHA1.Salt, c.SCRAMSHA1.Iterations, c.SCRAMSHA1.StoredKey, c.SCRAMSHA1.ServerKey,
		c.SCRAMSHA256.Salt, c.SCRAMSHA256.Iterations, c.SCRAMSHA256.StoredKey, c.SCRAMSHA256.ServerKey,
		c.Realm, c.HA1MD5, c.HA1SHA256)
	if err != nil {
		if isUnique(err) {
			return fmt.Errorf("sqlite: create account %s: %w", addr, crosstalk.ErrAccountExists)
		}
		return fmt.Errorf("sqlite: create account %s: %w", addr, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: create account %s: %w", addr, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: create account %s: %w", addr, crosstalk.ErrAccountExists)
	}
	return nil
}

// GetAccount returns an account; crosstalk.ErrNoSuchAccount if there is none.
func (s *Store) GetAccount(ctx context.Context, addr crosstalk.Address) (crosstalk.Account, error) {
	a := crosstalk.Account{Address: addr}
	c := &a.Credentials
	var created int64
	ctx, err := pointRead(ctx)
	if err != nil {
		return crosstalk.Account{}, fmt.Errorf("sqlite: get account %s: %w", addr, err)
	}
	err = s.r().QueryRowContext(ctx, `SELECT created_us,
		scram1_salt, scram1_iter, scram1_stored, scram1_server,
		scram256_salt, scram256_iter, scram256_stored, scram256_server,
		realm, ha1_md5, ha1_sha256
		FROM accounts WHERE addr = ?`, addr.String()).Scan(&created,
		&c.SCRAMSHA1.Salt, &c.SCRAMSHA1.Iterations, &c.SCRAMSHA1.StoredKey, &c.SCRAMSHA1.ServerKey,
		&c.SCRAMSHA256.Salt, &c.SCRAMSHA256.Iterations, &c.SCRAMSHA256.StoredKey, &c.SCRAMSHA256.ServerKey,
		&c.Realm, &c.HA1MD5, &c.HA1SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return crosstalk.Account{}, fmt.Errorf("sqlite: get account %s: %w", addr, crosstalk.ErrNoSuchAccount)
	}
	if err != nil {
		return crosstalk.Account{}, fmt.Errorf("sqlite: get account %s: %w", addr, err)
	}
	a.Created = fromMicros(created)
	return a, nil
}

// SetCredentials replaces an account's credentials;
// crosstalk.ErrNoSuchAccount if there is none.
func (s *Store) SetCredentials(ctx context.Context, addr crosstalk.Address, c crosstalk.Credentials) error {
	res, err := s.w().ExecContext(ctx, `UPDATE accounts SET
		scram1_salt = ?, scram1_iter = ?, scram1_stored = ?, scram1_server = ?,
		scram256_salt = ?, scram256_iter = ?, scram256_stored = ?, scram256_server = ?,
		realm = ?, ha1_md5 = ?, ha1_sha256 = ?
		WHERE addr = ?`,
		c.SCRAMSHA1.Salt, c.SCRAMSHA1.Iterations, c.SCRAMSHA1.StoredKey, c.SCRAMSHA1.ServerKey,
		c.SCRAMSHA256.Salt, c.SCRAMSHA256.Iterations, c.SCRAMSHA256.StoredKey, c.SCRAMSHA256.ServerKey,
		c.Realm, c.HA1MD5, c.HA1SHA256, addr.String())
	if err != nil {
		return fmt.Errorf("sqlite: set credentials %s: %w", addr, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: set credentials %s: %w", addr, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: set credentials %s: %w", addr, crosstalk.ErrNoSuchAccount)
	}
	return nil
}

// DeleteAccount removes an account and everything it owns: roster and its
// version, blocklist, offline queue, archive, registrations, PEP
// nodes, vCard, last activity and login tokens;
// crosstalk.ErrNoSuchAccount if there is none.
func (s *Store) DeleteAccount(ctx context.Context, addr crosstalk.Address) error {
	a := addr.String()
	err := s.atomic(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM accounts WHERE addr = ?`, a)
		if err := affected(res, err, crosstalk.ErrNoSuchAccount); err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM roster_items WHERE owner = ?`,
			`DELETE FROM roster_versions WHERE owner = ?`,
			`DELETE FROM blocklist WHERE owner = ?`,
			`DELETE FROM offline WHERE owner = ?`,
			`DELETE FROM archive WHERE owner = ?`,
			`DELETE FROM registrations WHERE aor = ?`,
			`DELETE FROM pep_nodes WHERE owner = ?`,
			`DELETE FROM pep_items WHERE owner = ?`,
			`DELETE FROM vcards WHERE owner = ?`,
			`DELETE FROM last_activity WHERE owner = ?`,
			`DELETE FROM login_tokens WHERE owner = ?`,
		} {
			if _, err := q.ExecContext(ctx, stmt, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete account %s: %w", addr, err)
	}
	return nil
}

// ListAccounts returns the accounts of a domain ("" for all), sorted.
func (s *Store) ListAccounts(ctx context.Context, domain string) ([]crosstalk.Address, error) {
	var rows *sql.Rows
	var err error
	if domain == "" {
		rows, err = s.r().QueryContext(ctx, `SELECT addr FROM accounts ORDER BY addr`)
	} else {
		rows, err = s.r().QueryContext(ctx, `SELECT addr FROM accounts WHERE domain = ? ORDER BY addr`, domain)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: list accounts %q: %w", domain, err)
	}
	l, err := scanAddrs(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list accounts %q: %w", domain, err)
	}
	return l, nil
}

// scanAddrs reads a one-column result of stored addresses and closes rows.
func scanAddrs(rows *sql.Rows) ([]crosstalk.Address, error) {
	defer rows.Close()
	var l []crosstalk.Address
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		a, err := parseAddr(s)
		if err != nil {
			return nil, err
		}
		l = append(l, a)
	}
	return l, rows.Err()
}
