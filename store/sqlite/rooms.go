package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// PutRoom creates or replaces a room with its affiliations. A zero Created
// is set to now.
func (s *Store) PutRoom(ctx context.Context, r crosstalk.Room) error {
	cfg, err := json.Marshal(r.Config)
	if err != nil {
		return fmt.Errorf("sqlite: put room %s: %w", r.Address, err)
	}
	created := r.Created
	if created.IsZero() {
		created = nowUTC()
	}
	err = s.atomic(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO rooms (addr, domain, config_json, subject, created_us)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (addr) DO UPDATE SET domain = excluded.domain, config_json = excluded.config_json,
				subject = excluded.subject, created_us = excluded.created_us`,
			r.Address.String(), r.Address.Domain(), string(cfg), r.Subject, toMicros(created)); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM room_affiliations WHERE room = ?`, r.Address.String()); err != nil {
			return err
		}
		for a, aff := range r.Affiliations {
			if aff == crosstalk.AffiliationNone {
				continue // absent means none
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO room_affiliations (room, addr, affiliation) VALUES (?, ?, ?)`,
				r.Address.String(), a.String(), aff.String()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: put room %s: %w", r.Address, err)
	}
	return nil
}

// GetRoom returns a room; crosstalk.ErrNotFound if there is none.
func (s *Store) GetRoom(ctx context.Context, addr crosstalk.Address) (crosstalk.Room, error) {
	var rooms []crosstalk.Room
	err := s.read(ctx, func(q querier) error {
		var err error
		rooms, err = s.queryRooms(ctx, q, `addr = ?`, addr.String())
		return err
	})
	if err != nil {
		return crosstalk.Room{}, fmt.Errorf("sqlite: get room %s: %w", addr, err)
	}
	if len(rooms) == 0 {
		return crosstalk.Room{}, fmt.Errorf("sqlite: get room %s: %w", addr, crosstalk.ErrNotFound)
	}
	return rooms[0], nil
}

// DeleteRoom removes a room; crosstalk.ErrNotFound if there was none.
func (s *Store) DeleteRoom(ctx context.Context, addr crosstalk.Address) error {
	err := s.atomic(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM room_affiliations WHERE room = ?`, addr.String()); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `DELETE FROM rooms WHERE addr = ?`, addr.String())
		if err := affected(res, err, crosstalk.ErrNotFound); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete room %s: %w", addr, err)
	}
	return nil
}

// ListRooms returns the rooms of a service domain, sorted by address.
func (s *Store) ListRooms(ctx context.Context, domain string) ([]crosstalk.Room, error) {
	var rooms []crosstalk.Room
	err := s.read(ctx, func(q querier) error {
		var err error
		rooms, err = s.queryRooms(ctx, q, `domain = ?`, domain)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list rooms %q: %w", domain, err)
	}
	return rooms, nil
}

// queryRooms reads the rooms matching cond, sorted by address, with their
// affiliations.
func (s *Store) queryRooms(ctx context.Context, q querier, cond string, arg any) ([]crosstalk.Room, error) {
	rows, err := q.QueryContext(ctx, `SELECT addr, config_json, subject, created_us FROM rooms WHERE `+cond+` ORDER BY addr`, arg)
	if err != nil {
		return nil, err
	}
	var rooms []crosstalk.Room
	index := map[string]int{}
	for rows.Next() {
		var (
			r         crosstalk.Room
			addr, cfg string
			created   int64
		)
		if err := rows.Scan(&addr, &cfg, &r.Subject, &created); err != nil {
			rows.Close()
			return nil, err
		}
		if r.Address, err = parseAddr(addr); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(cfg), &r.Config); err != nil {
			rows.Close()
			return nil, fmt.Errorf("room %s config: %w", addr, err)
		}
		r.Created = fromMicros(created)
		index[addr] = len(rooms)
		rooms = append(rooms, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(rooms) == 0 {
		return nil, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT room, addr, affiliation FROM room_affiliations
		WHERE room IN (SELECT addr FROM rooms WHERE `+cond+`)`, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var room, addr, aff string
		if err := rows.Scan(&room, &addr, &aff); err != nil {
			return nil, err
		}
		i, ok := index[room]
		if !ok {
			continue
		}
		a, err := parseAddr(addr)
		if err != nil {
			return nil, err
		}
		r := &rooms[i]
		if r.Affiliations == nil {
			r.Affiliations = map[crosstalk.Address]crosstalk.Affiliation{}
		}
		r.Affiliations[a] = crosstalk.ParseAffiliation(aff)
	}
	return rooms, rows.Err()
}

const regColumns = `contact, instance_id, reg_id, resource, call_id, cseq, q, path_json, received, user_agent, expires_us`

// PutRegistration creates or replaces the binding with the same AOR and Key.
func (s *Store) PutRegistration(ctx context.Context, r crosstalk.Registration) error {
	_, err := s.w().ExecContext(ctx, `INSERT INTO registrations (aor, key, `+regColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (aor, key) DO UPDATE SET contact = excluded.contact, instance_id = excluded.instance_id,
			reg_id = excluded.reg_id, resource = excluded.resource, call_id = excluded.call_id,
			cseq = excluded.cseq, q = excluded.q, path_json = excluded.path_json,
			received = excluded.received, user_agent = excluded.user_agent, expires_us = excluded.expires_us`,
		r.AOR.String(), r.Key(), r.Contact, r.InstanceID, r.RegID, r.Resource, r.CallID, int64(r.CSeq), r.Q,
		encodeList(r.Path), r.Received, r.UserAgent, toMicros(r.Expires))
	if err != nil {
		return fmt.Errorf("sqlite: put registration %s of %s: %w", r.Key(), r.AOR, err)
	}
	return nil
}

// DeleteRegistration removes one binding by AOR and Key;
// crosstalk.ErrNotFound if there was none.
func (s *Store) DeleteRegistration(ctx context.Context, aor crosstalk.Address, key string) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM registrations WHERE aor = ? AND key = ?`, aor.String(), key)
	err = affected(res, err, crosstalk.ErrNotFound)
	if err != nil {
		return fmt.Errorf("sqlite: delete registration %s of %s: %w", key, aor, err)
	}
	return nil
}

// ListRegistrations returns an AOR's bindings that have not expired at now
// (Expires after now), highest q first, then by key.
func (s *Store) ListRegistrations(ctx context.Context, aor crosstalk.Address, now time.Time) ([]crosstalk.Registration, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+regColumns+` FROM registrations
		WHERE aor = ? AND expires_us > ? ORDER BY q DESC, key`, aor.String(), toMicros(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list registrations of %s: %w", aor, err)
	}
	defer rows.Close()
	var l []crosstalk.Registration
	for rows.Next() {
		r := crosstalk.Registration{AOR: aor}
		var (
			cseq      int64
			path      string
			expiresUS int64
		)
		if err := rows.Scan(&r.Contact, &r.InstanceID, &r.RegID, &r.Resource, &r.CallID, &cseq, &r.Q,
			&path, &r.Received, &r.UserAgent, &expiresUS); err != nil {
			return nil, fmt.Errorf("sqlite: list registrations of %s: %w", aor, err)
		}
		r.CSeq = uint32(cseq)
		r.Expires = fromMicros(expiresUS)
		if r.Path, err = decodeList(path); err != nil {
			return nil, fmt.Errorf("sqlite: list registrations of %s: %w", aor, err)
		}
		l = append(l, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list registrations of %s: %w", aor, err)
	}
	return l, nil
}

// DeleteExpiredRegistrations removes bindings expired at now (Expires not
// after now) and returns how many.
func (s *Store) DeleteExpiredRegistrations(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w().ExecContext(ctx, `DELETE FROM registrations WHERE expires_us <= ?`, toMicros(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired registrations: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired registrations: %w", err)
	}
	return int(n), nil
}
