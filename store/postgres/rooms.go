package postgres

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
		return fmt.Errorf("postgres: put room %s: %w", r.Address, err)
	}
	created := r.Created
	if created.IsZero() {
		created = nowUTC()
	}
	var addrs, affs []string
	for a, aff := range r.Affiliations {
		if aff == crosstalk.AffiliationNone {
			continue // absent means none
		}
		addrs = append(addrs, a.String())
		affs = append(affs, aff.String())
	}
	err = s.atomic(ctx, func(q querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO rooms (addr, domain, config, subject, created)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (addr) DO UPDATE SET domain = excluded.domain, config = excluded.config,
				subject = excluded.subject, created = excluded.created`,
			r.Address.String(), r.Address.Domain(), string(cfg), r.Subject, ts(created)); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM room_affiliations WHERE room = $1`, r.Address.String()); err != nil {
			return err
		}
		if len(addrs) == 0 {
			return nil
		}
		_, err := q.Exec(ctx, `INSERT INTO room_affiliations (room, addr, affiliation)
			SELECT $1, a, f FROM unnest($2::text[], $3::text[]) AS t(a, f)`, r.Address.String(), addrs, affs)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: put room %s: %w", r.Address, err)
	}
	return nil
}

// GetRoom returns a room; crosstalk.ErrNotFound if there is none.
func (s *Store) GetRoom(ctx context.Context, addr crosstalk.Address) (crosstalk.Room, error) {
	var rooms []crosstalk.Room
	err := s.read(ctx, func(q querier) error {
		var err error
		rooms, err = queryRooms(ctx, q, `addr = $1`, addr.String())
		return err
	})
	if err != nil {
		return crosstalk.Room{}, fmt.Errorf("postgres: get room %s: %w", addr, err)
	}
	if len(rooms) == 0 {
		return crosstalk.Room{}, fmt.Errorf("postgres: get room %s: %w", addr, crosstalk.ErrNotFound)
	}
	return rooms[0], nil
}

// DeleteRoom removes a room; crosstalk.ErrNotFound if there was none. Its
// affiliations go with it (ON DELETE CASCADE).
func (s *Store) DeleteRoom(ctx context.Context, addr crosstalk.Address) error {
	tag, err := s.q().Exec(ctx, `DELETE FROM rooms WHERE addr = $1`, addr.String())
	if err == nil && tag.RowsAffected() == 0 {
		err = crosstalk.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: delete room %s: %w", addr, err)
	}
	return nil
}

// ListRooms returns the rooms of a service domain, sorted by address.
func (s *Store) ListRooms(ctx context.Context, domain string) ([]crosstalk.Room, error) {
	var rooms []crosstalk.Room
	err := s.read(ctx, func(q querier) error {
		var err error
		rooms, err = queryRooms(ctx, q, `domain = $1`, domain)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list rooms %q: %w", domain, err)
	}
	return rooms, nil
}

// queryRooms reads the rooms matching cond, sorted by address, with their
// affiliations.
func queryRooms(ctx context.Context, q querier, cond string, arg any) ([]crosstalk.Room, error) {
	rows, err := q.Query(ctx, `SELECT addr, config, subject, created FROM rooms WHERE `+cond+` ORDER BY addr`, arg)
	if err != nil {
		return nil, err
	}
	var rooms []crosstalk.Room
	index := map[string]int{}
	for rows.Next() {
		var (
			r    crosstalk.Room
			addr string
			cfg  []byte
		)
		if err := rows.Scan(&addr, &cfg, &r.Subject, &r.Created); err != nil {
			rows.Close()
			return nil, err
		}
		if r.Address, err = parseAddr(addr); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal(cfg, &r.Config); err != nil {
			rows.Close()
			return nil, fmt.Errorf("room %s config: %w", addr, err)
		}
		r.Created = r.Created.UTC()
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
	rows, err = q.Query(ctx, `SELECT room, addr, affiliation FROM room_affiliations
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

const regColumns = `contact, instance_id, reg_id, resource, call_id, cseq, q, path, received, user_agent, expires`

// PutRegistration creates or replaces the binding with the same AOR and Key.
func (s *Store) PutRegistration(ctx context.Context, r crosstalk.Registration) error {
	_, err := s.q().Exec(ctx, `INSERT INTO registrations (aor, key, `+regColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (aor, key) DO UPDATE SET contact = excluded.contact, instance_id = excluded.instance_id,
			reg_id = excluded.reg_id, resource = excluded.resource, call_id = excluded.call_id,
			cseq = excluded.cseq, q = excluded.q, path = excluded.path,
			received = excluded.received, user_agent = excluded.user_agent, expires = excluded.expires`,
		r.AOR.String(), r.Key(), r.Contact, r.InstanceID, r.RegID, r.Resource, r.CallID, int64(r.CSeq), r.Q,
		list(r.Path), r.Received, r.UserAgent, ts(r.Expires))
	if err != nil {
		return fmt.Errorf("postgres: put registration %s of %s: %w", r.Key(), r.AOR, err)
	}
	return nil
}

// DeleteRegistration removes one binding by AOR and Key;
// crosstalk.ErrNotFound if there was none.
func (s *Store) DeleteRegistration(ctx context.Context, aor crosstalk.Address, key string) error {
	tag, err := s.q().Exec(ctx, `DELETE FROM registrations WHERE aor = $1 AND key = $2`, aor.String(), key)
	if err == nil && tag.RowsAffected() == 0 {
		err = crosstalk.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: delete registration %s of %s: %w", key, aor, err)
	}
	return nil
}

// ListRegistrations returns an AOR's bindings that have not expired at now
// (Expires after now), highest q first, then by key.
func (s *Store) ListRegistrations(ctx context.Context, aor crosstalk.Address, now time.Time) ([]crosstalk.Registration, error) {
	rows, err := s.q().Query(ctx, `SELECT `+regColumns+` FROM registrations
		WHERE aor = $1 AND expires > $2 ORDER BY q DESC, key`, aor.String(), ts(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: list registrations of %s: %w", aor, err)
	}
	defer rows.Close()
	var l []crosstalk.Registration
	for rows.Next() {
		r := crosstalk.Registration{AOR: aor}
		var cseq int64
		if err := rows.Scan(&r.Contact, &r.InstanceID, &r.RegID, &r.Resource, &r.CallID, &cseq, &r.Q,
			&r.Path, &r.Received, &r.UserAgent, &r.Expires); err != nil {
			return nil, fmt.Errorf("postgres: list registrations of %s: %w", aor, err)
		}
		r.CSeq = uint32(cseq)
		r.Expires = r.Expires.UTC()
		r.Path = unlist(r.Path)
		l = append(l, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list registrations of %s: %w", aor, err)
	}
	return l, nil
}

// DeleteExpiredRegistrations removes bindings expired at now (Expires not
// after now) and returns how many.
func (s *Store) DeleteExpiredRegistrations(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.q().Exec(ctx, `DELETE FROM registrations WHERE expires <= $1`, ts(now))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired registrations: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
