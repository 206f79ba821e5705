-- People: only a pseudonym, the masked name and sealed personal data.
CREATE TABLE people (
	pseudonym   TEXT PRIMARY KEY,
	region      TEXT NOT NULL,
	masked_name TEXT NOT NULL,
	id_hash     BLOB NOT NULL UNIQUE,
	sealed      BLOB NOT NULL,
	created_at  INTEGER NOT NULL
);

-- Per-person data keys, wrapped by the region key. Deleting a row shreds the
-- person's sealed data wherever a copy of it lies.
CREATE TABLE person_keys (
	pseudonym TEXT PRIMARY KEY REFERENCES people(pseudonym) ON DELETE CASCADE,
	wrapped   BLOB NOT NULL
);

CREATE TABLE evidence (
	id             INTEGER PRIMARY KEY,
	subject        TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	kind           TEXT NOT NULL,
	submitter      TEXT NOT NULL,
	submitter_name TEXT NOT NULL,
	submitter_role TEXT NOT NULL,
	external_id    TEXT NOT NULL,
	observed_at    INTEGER NOT NULL,
	recorded_at    INTEGER NOT NULL,
	result         TEXT NOT NULL DEFAULT '',
	pooled         INTEGER NOT NULL DEFAULT 0,
	pool_id        TEXT NOT NULL DEFAULT '',
	diagnosis      TEXT NOT NULL DEFAULT '',
	case_ref       TEXT NOT NULL DEFAULT '',
	risk_level     TEXT NOT NULL DEFAULT '',
	area           TEXT NOT NULL DEFAULT '',
	dose           INTEGER NOT NULL DEFAULT 0,
	UNIQUE (submitter, external_id)
);
CREATE INDEX evidence_subject ON evidence(subject, observed_at, id);

-- Every decision a person has held. Texts come from the rule set (by hash).
CREATE TABLE decisions (
	id              INTEGER PRIMARY KEY,
	subject         TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	colour          INTEGER NOT NULL,
	reason          TEXT NOT NULL,
	rule_id         TEXT NOT NULL,
	ruleset_version TEXT NOT NULL,
	ruleset_hash    TEXT NOT NULL,
	evidence_ids    TEXT NOT NULL,
	evidence_digest TEXT NOT NULL,
	lifts_at        INTEGER,
	review_at       INTEGER NOT NULL,
	decided_at      INTEGER NOT NULL,
	log_index       INTEGER NOT NULL,
	actor           TEXT NOT NULL
);
CREATE INDEX decisions_subject ON decisions(subject, id);

-- The decision each person holds now.
CREATE TABLE current_codes (
	subject     TEXT PRIMARY KEY REFERENCES people(pseudonym) ON DELETE CASCADE,
	decision_id INTEGER NOT NULL REFERENCES decisions(id),
	colour      INTEGER NOT NULL,
	review_at   INTEGER NOT NULL
);
CREATE INDEX current_codes_review ON current_codes(review_at);

CREATE TABLE tokens (
	hash       BLOB PRIMARY KEY,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	unit       TEXT NOT NULL,
	subject    TEXT NOT NULL
);

CREATE TABLE rulesets (
	version      TEXT PRIMARY KEY,
	hash         TEXT NOT NULL,
	source       BLOB NOT NULL,
	published_at INTEGER NOT NULL,
	published_by TEXT NOT NULL,
	active       INTEGER NOT NULL DEFAULT 0
);

-- The Merkle tree: one row per leaf holding the stored hashes that adding the
-- leaf created (contiguous in golang.org/x/mod/sumdb/tlog's numbering).
CREATE TABLE log_hashes (
	leaf   INTEGER PRIMARY KEY,
	hashes BLOB NOT NULL
);

-- Leaf contents, kept beside the tree so they can be deleted without
-- breaking it.
CREATE TABLE log_leaves (
	leaf INTEGER PRIMARY KEY,
	data BLOB NOT NULL
);

-- Openings of the leaves' subject commitments: personal, deletable.
CREATE TABLE log_openings (
	leaf    INTEGER PRIMARY KEY,
	subject TEXT NOT NULL,
	salt    BLOB NOT NULL
);
CREATE INDEX log_openings_subject ON log_openings(subject);

CREATE TABLE checkpoints (
	size       INTEGER PRIMARY KEY,
	root       BLOB NOT NULL,
	note       BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
