-- Crosstalk schema, version 1 (SQLite).
-- Addresses are stored in their normalised String() form and compared byte
-- for byte (BINARY collation). Times are integer microseconds since the Unix
-- epoch, UTC. Lists (groups, Path) are JSON arrays.

CREATE TABLE accounts (
	addr           TEXT    NOT NULL PRIMARY KEY,
	domain         TEXT    NOT NULL,
	created_us     INTEGER NOT NULL,
	scram1_salt    BLOB,
	scram1_iter    INTEGER NOT NULL DEFAULT 0,
	scram1_stored  BLOB,
	scram1_server  BLOB,
	scram256_salt  BLOB,
	scram256_iter  INTEGER NOT NULL DEFAULT 0,
	scram256_stored BLOB,
	scram256_server BLOB,
	realm          TEXT    NOT NULL DEFAULT '',
	ha1_md5        TEXT    NOT NULL DEFAULT '',
	ha1_sha256     TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX accounts_domain ON accounts (domain, addr);

-- One row per owner that ever changed its roster (XEP-0237).
CREATE TABLE roster_versions (
	owner   TEXT    NOT NULL PRIMARY KEY,
	version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE roster_items (
	owner        TEXT    NOT NULL,
	contact      TEXT    NOT NULL,
	name         TEXT    NOT NULL DEFAULT '',
	groups_json  TEXT    NOT NULL DEFAULT '[]',
	subscription TEXT    NOT NULL DEFAULT 'none',
	pending_out  INTEGER NOT NULL DEFAULT 0,
	pending_in   INTEGER NOT NULL DEFAULT 0,
	pre_approved INTEGER NOT NULL DEFAULT 0,
	version      INTEGER NOT NULL,
	PRIMARY KEY (owner, contact)
) WITHOUT ROWID;

CREATE TABLE blocklist (
	owner TEXT NOT NULL,
	addr  TEXT NOT NULL,
	PRIMARY KEY (owner, addr)
) WITHOUT ROWID;

-- seq is the queue position; AUTOINCREMENT never reuses a value.
CREATE TABLE offline (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	owner          TEXT    NOT NULL,
	msg_id         TEXT    NOT NULL,
	from_addr      TEXT    NOT NULL,
	to_addr        TEXT    NOT NULL,
	type           TEXT    NOT NULL,
	body           TEXT    NOT NULL,
	subject        TEXT    NOT NULL,
	thread         TEXT    NOT NULL,
	lang           TEXT    NOT NULL,
	ts_us          INTEGER NOT NULL,
	native_proto   INTEGER NOT NULL,
	native_ctype   TEXT    NOT NULL,
	native_payload BLOB
);
CREATE INDEX offline_owner ON offline (owner, seq);

-- id is the archive sequence; the public id is its base-32 form, zero-padded
-- to 13 digits, so that ids sort as the sequence does.
CREATE TABLE archive (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	owner          TEXT    NOT NULL,
	with_addr      TEXT    NOT NULL,
	msg_id         TEXT    NOT NULL,
	from_addr      TEXT    NOT NULL,
	to_addr        TEXT    NOT NULL,
	type           TEXT    NOT NULL,
	body           TEXT    NOT NULL,
	subject        TEXT    NOT NULL,
	thread         TEXT    NOT NULL,
	lang           TEXT    NOT NULL,
	ts_us          INTEGER NOT NULL,
	native_proto   INTEGER NOT NULL,
	native_ctype   TEXT    NOT NULL,
	native_payload BLOB
);
CREATE INDEX archive_owner_ts ON archive (owner, ts_us, id);
CREATE INDEX archive_owner_with_ts ON archive (owner, with_addr, ts_us, id);

-- config is the JSON of crosstalk.RoomConfig.
CREATE TABLE rooms (
	addr        TEXT    NOT NULL PRIMARY KEY,
	domain      TEXT    NOT NULL,
	config_json TEXT    NOT NULL,
	subject     TEXT    NOT NULL DEFAULT '',
	created_us  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rooms_domain ON rooms (domain, addr);

CREATE TABLE room_affiliations (
	room        TEXT NOT NULL REFERENCES rooms (addr) ON DELETE CASCADE,
	addr        TEXT NOT NULL,
	affiliation TEXT NOT NULL,
	PRIMARY KEY (room, addr)
) WITHOUT ROWID;

CREATE TABLE registrations (
	aor         TEXT    NOT NULL,
	key         TEXT    NOT NULL,
	contact     TEXT    NOT NULL,
	instance_id TEXT    NOT NULL,
	reg_id      INTEGER NOT NULL,
	resource    TEXT    NOT NULL,
	call_id     TEXT    NOT NULL,
	cseq        INTEGER NOT NULL,
	q           INTEGER NOT NULL,
	path_json   TEXT    NOT NULL DEFAULT '[]',
	received    TEXT    NOT NULL,
	user_agent  TEXT    NOT NULL,
	expires_us  INTEGER NOT NULL,
	PRIMARY KEY (aor, key)
) WITHOUT ROWID;
CREATE INDEX registrations_expires ON registrations (expires_us);
