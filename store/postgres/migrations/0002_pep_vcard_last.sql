-- XEP-0163 personal eventing nodes and their items, XEP-0054 vCards and
-- XEP-0012 last activity of accounts.
CREATE TABLE pep_nodes (
	owner     TEXT    NOT NULL,
	node      TEXT    NOT NULL,
	access    TEXT    NOT NULL,
	max_items INTEGER NOT NULL,
	PRIMARY KEY (owner, node)
);

-- seq orders a node's items: the highest is the newest.
CREATE TABLE pep_items (
	seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	owner     TEXT        NOT NULL,
	node      TEXT        NOT NULL,
	item_id   TEXT        NOT NULL,
	payload   BYTEA       NOT NULL,
	published TIMESTAMPTZ NOT NULL,
	UNIQUE (owner, node, item_id)
);
CREATE INDEX pep_items_node ON pep_items (owner, node, seq);

CREATE TABLE vcards (
	owner TEXT  NOT NULL PRIMARY KEY,
	vcard BYTEA NOT NULL
);

CREATE TABLE last_activity (
	owner  TEXT        NOT NULL PRIMARY KEY,
	at     TIMESTAMPTZ NOT NULL,
	status TEXT        NOT NULL
);
