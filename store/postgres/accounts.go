package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crosstalk-im/crosstalk"
)

// CreateAccount stores a new account; crosstalk.ErrAccountExists if it
// exists. A zero Created is set to now.
func (s *Store) CreateAccount(ctx context.Context, a crosstalk.Account) error {
	addr := a.Address
	if a.Address.IsZero() {
		return fmt.Errorf("postgres: create account: empty address: %w", crosstalk.ErrInvalidAddress)
	}
	created := a.Created
	if created.IsZero() {
		created = nowUTC()
	}
	c := a.Credentials
	// ON CONFLICT DO NOTHING rather than a unique violation, which would
	// abort an enclosing transaction.
	tag, err := s.q().Exec(ctx, `INSERT INTO accounts (addr, domain, created,
		scram1_salt, scram1_iter, scram1_stored, scram1_server,
		scram256_salt, scram256_iter, scram256_stored, scram256_server,
		realm, ha1_md5, ha1_sha256)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (addr) DO NOTHING`,
		addr.String(), addr.Domain(), ts(created),
		c.SCRAMSHA1.Salt, c.SCRAMSHA1.Iterations, c.SCRAMSHA1.StoredKey, c.SCRAMSHA1.ServerKey,
		c.SCRAMSHA256.Salt, c.SCRAMSHA256.Iterations, c.SCRAMSHA256.StoredKey, c.SCRAMSHA256.ServerKey,
		c.Realm, c.HA1MD5, c.HA1SHA256)
	if err != nil {
		if isUnique(err) {
			return fmt.Errorf("postgres: create account %s: %w", addr, crosstalk.ErrAccountExists)
		}
		return fmt.Errorf("postgres: create account %s: %w", addr, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: create account %s: %w", addr, crosstalk.ErrAccountExists)
	}
	return nil
}

// GetAccount returns an account; crosstalk.ErrNoSuchAccount if there is none.
func (s *Store) GetAccount(ctx context.Context, addr crosstalk.Address) (crosstalk.Account, error) {
	a := crosstalk.Account{Address: addr}
	c := &a.Credentials
	err := s.q().QueryRow(ctx, `SELECT created,
		scram1_salt, scram1_iter, scram1_stored, scram1_server,
		scram256_salt, scram256_iter, scram256_stored, scram256_server,
		realm, ha1_md5, ha1_sha256
		FROM accounts WHERE addr = $1`, addr.String()).Scan(&a.Created,
		&c.SCRAMSHA1.Salt, &c.SCRAMSHA1.Iterations, &c.SCRAMSHA1.StoredKey, &c.SCRAMSHA1.ServerKey,
		&c.SCRAMSHA256.Salt, &c.SCRAMSHA256.Iterations, &c.SCRAMSHA256.StoredKey, &c.SCRAMSHA256.ServerKey,
		&c.Realm, &c.HA1MD5, &c.HA1SHA256)
	if errors.Is(err, pgx.ErrNoRows) {
		return crosstalk.Account{}, fmt.Errorf("postgres: get account %s: %w", addr, crosstalk.ErrNoSuchAccount)
	}
	if err != nil {
		return crosstalk.Account{}, fmt.Errorf("postgres: get account %s: %w", addr, err)
	}
	a.Created = a.Created.UTC()
	return a, nil
}

// SetCredentials replaces an account's credentials;
// crosstalk.ErrNoSuchAccount if there is none.
func (s *Store) SetCredentials(ctx context.Context, addr crosstalk.Address, c crosstalk.Credentials) error {
	tag, err := s.q().Exec(ctx, `UPDATE accounts SET
		scram1_salt = $1, scram1_iter = $2, scram1_stored = $3, scram1_server = $4,
		scram256_salt = $5, scram256_iter = $6, scram256_stored = $7, scram256_server = $8,
		realm = $9, ha1_md5 = $10, ha1_sha256 = $11
		WHERE addr = $12`,
		c.SCRAMSHA1.Salt, c.SCRAMSHA1.Iterations, c.SCRAMSHA1.StoredKey, c.SCRAMSHA1.ServerKey,
		c.SCRAMSHA256.Salt, c.SCRAMSHA256.Iterations, c.SCRAMSHA256.StoredKey, c.SCRAMSHA256.ServerKey,
		c.Realm, c.HA1MD5, c.HA1SHA256, addr.String())
	if err != nil {
		return fmt.Errorf("postgres: set credentials %s: %w", addr, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: set credentials %s: %w", addr, crosstalk.ErrNoSuchAccount)
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
		tag, err := q.Exec(ctx, `DELETE FROM accounts WHERE addr = $1`, a)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return crosstalk.ErrNoSuchAccount
		}
		for _, stmt := range []string{
			`DELETE FROM roster_versions WHERE owner = $1`, // version row first, as the roster writes lock it
			`DELETE FROM roster_items WHERE owner = $1`,
			`DELETE FROM blocklist WHERE owner = $1`,
			`DELETE FROM offline WHERE owner = $1`,
			`DELETE FROM archive WHERE owner = $1`,
			`DELETE FROM registrations WHERE aor = $1`,
			`DELETE FROM pep_nodes WHERE owner = $1`,
			`DELETE FROM pep_items WHERE owner = $1`,
			`DELETE FROM vcards WHERE owner = $1`,
			`DELETE FROM last_activity WHERE owner = $1`,
			`DELETE FROM login_tokens WHERE owner = $1`,
		} {
			if _, err := q.Exec(ctx, stmt, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: delete account %s: %w", addr, err)
	}
	return nil
}

// ListAccounts returns the accounts of a domain ("" for all), sorted.
func (s *Store) ListAccounts(ctx context.Context, domain string) ([]crosstalk.Address, error) {
	var rows pgx.Rows
	var err error
	if domain == "" {
		rows, err = s.q().Query(ctx, `SELECT addr FROM accounts ORDER BY addr`)
	} else {
		rows, err = s.q().Query(ctx, `SELECT addr FROM accounts WHERE domain = $1 ORDER BY addr`, domain)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: list accounts %q: %w", domain, err)
	}
	l, err := scanAddrs(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: list accounts %q: %w", domain, err)
	}
	return l, nil
}
