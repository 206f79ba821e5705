-- Units and officials are records of a registry, created, changed and revoked
-- through the log; tokens belong to an official (or a citizen), expire and
-- can be revoked; page sessions are kept here, hashed, never the token.

CREATE TABLE units (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	region     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	created_by TEXT NOT NULL
);

CREATE TABLE officials (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	unit       TEXT NOT NULL REFERENCES units(id),
	status     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	changed_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE official_proposals (
	id            INTEGER PRIMARY KEY,
	official_id   TEXT NOT NULL,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	unit          TEXT NOT NULL REFERENCES units(id),
	change        INTEGER NOT NULL,
	status        TEXT NOT NULL,
	proposer_id   TEXT NOT NULL,
	proposer_name TEXT NOT NULL,
	proposer_role TEXT NOT NULL,
	proposer_unit TEXT NOT NULL,
	proposed_at   INTEGER NOT NULL,
	decided_by    TEXT NOT NULL DEFAULT '',
	decided_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX official_proposals_status ON official_proposals(status);

-- Tokens made before this migration have expires_at 0: they are refused
-- (their officials were free text) until an admin issues new ones.
ALTER TABLE tokens ADD COLUMN token_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN issued_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN issued_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tokens_token_id ON tokens(token_id);
CREATE INDEX tokens_id ON tokens(id);

CREATE TABLE sessions (
	hash       BLOB PRIMARY KEY,
	token_hash BLOB NOT NULL REFERENCES tokens(hash) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX sessions_token ON sessions(token_hash);
