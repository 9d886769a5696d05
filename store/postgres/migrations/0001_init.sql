-- Crosstalk schema, version 1 (PostgreSQL).
-- Addresses are stored in their normalised String() form; every text column
-- that is compared or ordered uses COLLATE "C" so that PostgreSQL compares
-- byte for byte, as SQLite and Go do. Times are timestamptz (microseconds).

CREATE TABLE accounts (
	addr            text COLLATE "C" NOT NULL PRIMARY KEY,
	domain          text COLLATE "C" NOT NULL,
	created         timestamptz NOT NULL,
	scram1_salt     bytea,
	scram1_iter     integer NOT NULL DEFAULT 0,
	scram1_stored   bytea,
	scram1_server   bytea,
	scram256_salt   bytea,
	scram256_iter   integer NOT NULL DEFAULT 0,
	scram256_stored bytea,
	scram256_server bytea,
	realm           text NOT NULL DEFAULT '',
	ha1_md5         text NOT NULL DEFAULT '',
	ha1_sha256      text NOT NULL DEFAULT ''
);
CREATE INDEX accounts_domain ON accounts (domain, addr);

-- One row per owner that ever changed its roster (XEP-0237).
CREATE TABLE roster_versions (
	owner   text COLLATE "C" NOT NULL PRIMARY KEY,
	version bigint NOT NULL
);

CREATE TABLE roster_items (
	owner        text COLLATE "C" NOT NULL,
	contact      text COLLATE "C" NOT NULL,
	name         text NOT NULL DEFAULT '',
	groups       text[] NOT NULL DEFAULT '{}',
	subscription text NOT NULL DEFAULT 'none',
	pending_out  boolean NOT NULL DEFAULT false,
	pending_in   boolean NOT NULL DEFAULT false,
	pre_approved boolean NOT NULL DEFAULT false,
	version      bigint NOT NULL,
	PRIMARY KEY (owner, contact)
);

CREATE TABLE blocklist (
	owner text COLLATE "C" NOT NULL,
	addr  text COLLATE "C" NOT NULL,
	PRIMARY KEY (owner, addr)
);

-- seq is the queue position.
CREATE TABLE offline (
	seq            bigserial PRIMARY KEY,
	owner          text COLLATE "C" NOT NULL,
	msg_id         text NOT NULL,
	from_addr      text NOT NULL,
	to_addr        text NOT NULL,
	type           text NOT NULL,
	body           text NOT NULL,
	subject        text NOT NULL,
	thread         text NOT NULL,
	lang           text NOT NULL,
	ts             timestamptz NOT NULL,
	native_proto   integer NOT NULL,
	native_ctype   text NOT NULL,
	native_payload bytea
);
CREATE INDEX offline_owner ON offline (owner, seq);

-- id is the archive sequence; the public id is its base-32 form, zero-padded
-- to 13 digits, so that ids sort as the sequence does.
CREATE TABLE archive (
	id             bigserial PRIMARY KEY,
	owner          text COLLATE "C" NOT NULL,
	with_addr      text COLLATE "C" NOT NULL,
	msg_id         text NOT NULL,
	from_addr      text NOT NULL,
	to_addr        text NOT NULL,
	type           text NOT NULL,
	body           text NOT NULL,
	subject        text NOT NULL,
	thread         text NOT NULL,
	lang           text NOT NULL,
	ts             timestamptz NOT NULL,
	native_proto   integer NOT NULL,
	native_ctype   text NOT NULL,
	native_payload bytea
);
CREATE INDEX archive_owner_ts ON archive (owner, ts, id);
CREATE INDEX archive_owner_with_ts ON archive (owner, with_addr, ts, id);

-- config is the JSON of crosstalk.RoomConfig.
CREATE TABLE rooms (
	addr    text COLLATE "C" NOT NULL PRIMARY KEY,
	domain  text COLLATE "C" NOT NULL,
	config  jsonb NOT NULL,
	subject text NOT NULL DEFAULT '',
	created timestamptz NOT NULL
);
CREATE INDEX rooms_domain ON rooms (domain, addr);

CREATE TABLE room_affiliations (
	room        text COLLATE "C" NOT NULL REFERENCES rooms (addr) ON DELETE CASCADE,
	addr        text COLLATE "C" NOT NULL,
	affiliation text NOT NULL,
	PRIMARY KEY (room, addr)
);

CREATE TABLE registrations (
	aor         text COLLATE "C" NOT NULL,
	key         text COLLATE "C" NOT NULL,
	contact     text NOT NULL,
	instance_id text NOT NULL,
	reg_id      integer NOT NULL,
	resource    text NOT NULL,
	call_id     text NOT NULL,
	cseq        bigint NOT NULL,
	q           integer NOT NULL,
	path        text[] NOT NULL DEFAULT '{}',
	received    text NOT NULL,
	user_agent  text NOT NULL,
	expires     timestamptz NOT NULL,
	PRIMARY KEY (aor, key)
);
CREATE INDEX registrations_expires ON registrations (expires);
