-- XEP-0163 personal eventing nodes and their items, XEP-0054 vCards and
-- XEP-0012 last activity of accounts.
CREATE TABLE pep_nodes (
	owner     TEXT    NOT NULL,
	node      TEXT    NOT NULL,
	access    TEXT    NOT NULL,
	max_items INTEGER NOT NULL,
	PRIMARY KEY (owner, node)
) WITHOUT ROWID;

-- seq orders a node's items: the highest is the newest.
CREATE TABLE pep_items (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	owner        TEXT    NOT NULL,
	node         TEXT    NOT NULL,
	item_id      TEXT    NOT NULL,
	payload      BLOB    NOT NULL,
	published_us INTEGER NOT NULL,
	UNIQUE (owner, node, item_id)
);
CREATE INDEX pep_items_node ON pep_items (owner, node, seq);

CREATE TABLE vcards (
	owner TEXT NOT NULL PRIMARY KEY,
	vcard BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE last_activity (
	owner  TEXT    NOT NULL PRIMARY KEY,
	at_us  INTEGER NOT NULL,
	status TEXT    NOT NULL
) WITHOUT ROWID;
