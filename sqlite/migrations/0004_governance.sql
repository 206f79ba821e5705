CREATE TABLE overrides (
	id             INTEGER PRIMARY KEY,
	colour         INTEGER NOT NULL,
	reason         TEXT NOT NULL,
	basis          TEXT NOT NULL,
	case_ref       TEXT NOT NULL,
	note           TEXT NOT NULL,
	expires        INTEGER NOT NULL,
	status         TEXT NOT NULL,
	requester_id   TEXT NOT NULL,
	requester_name TEXT NOT NULL,
	requester_role TEXT NOT NULL,
	requester_unit TEXT NOT NULL,
	approver_id    TEXT NOT NULL DEFAULT '',
	approver_name  TEXT NOT NULL DEFAULT '',
	approver_role  TEXT NOT NULL DEFAULT '',
	approver_unit  TEXT NOT NULL DEFAULT '',
	cosigner_id    TEXT NOT NULL DEFAULT '',
	cosigner_name  TEXT NOT NULL DEFAULT '',
	cosigner_role  TEXT NOT NULL DEFAULT '',
	cosigner_unit  TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	approved_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX overrides_status ON overrides(status, expires);

CREATE TABLE override_subjects (
	override INTEGER NOT NULL REFERENCES overrides(id) ON DELETE CASCADE,
	subject  TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	PRIMARY KEY (override, subject)
);
CREATE INDEX override_subjects_subject ON override_subjects(subject);

CREATE TABLE appeals (
	id          INTEGER PRIMARY KEY,
	subject     TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	kind        TEXT NOT NULL,
	note        TEXT NOT NULL,
	status      TEXT NOT NULL,
	colour      INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	deadline    INTEGER NOT NULL,
	answer      TEXT NOT NULL DEFAULT '',
	answered_by TEXT NOT NULL DEFAULT '',
	answered_at INTEGER NOT NULL DEFAULT 0,
	log_index   INTEGER NOT NULL DEFAULT -1
);
-- One appeal at a time per person, until it is answered.
CREATE UNIQUE INDEX appeals_one_open ON appeals(subject) WHERE status IN ('open', 'escalated');
CREATE INDEX appeals_status ON appeals(status, deadline);

CREATE TABLE ruleset_proposals (
	version        TEXT PRIMARY KEY,
	hash           TEXT NOT NULL,
	source         BLOB NOT NULL,
	proposed_at    INTEGER NOT NULL,
	proposer_id    TEXT NOT NULL,
	proposer_name  TEXT NOT NULL,
	proposer_role  TEXT NOT NULL,
	proposer_unit  TEXT NOT NULL
);
