-- Login tokens (XEP-0484 FAST): the record of each token, never the token
-- nor anything that verifies one. The token a client holds is derived from
-- id with a key kept outside the database (the data directory's fast.key),
-- so a dump of this table logs nobody in. UNIQUE (owner, client, used)
-- keeps at most one unused and one used token per client and is the index
-- a login reads.
CREATE TABLE login_tokens (
	id        BLOB    NOT NULL PRIMARY KEY,
	owner     TEXT    NOT NULL,
	client    TEXT    NOT NULL,
	mechanism TEXT    NOT NULL,
	used      INTEGER NOT NULL,
	issued_us INTEGER NOT NULL,
	expiry_us INTEGER NOT NULL,
	creds     BLOB    NOT NULL,
	UNIQUE (owner, client, used)
) WITHOUT ROWID;
CREATE INDEX login_tokens_expiry ON login_tokens (expiry_us);
