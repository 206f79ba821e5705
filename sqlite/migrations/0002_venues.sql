ALTER TABLE evidence ADD COLUMN venue TEXT NOT NULL DEFAULT '';
ALTER TABLE evidence ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
CREATE INDEX evidence_case ON evidence(case_ref) WHERE case_ref != '';

CREATE TABLE venues (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	address       TEXT NOT NULL,
	region        TEXT NOT NULL,
	category      TEXT NOT NULL,
	owner         TEXT NOT NULL,
	secret        BLOB NOT NULL,
	status        TEXT NOT NULL,
	registered_at INTEGER NOT NULL,
	approved_at   INTEGER NOT NULL DEFAULT 0,
	approved_by   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX venues_region ON venues(region);

-- Check-ins: not logged one by one, kept for their retention period.
CREATE TABLE checkins (
	id       INTEGER PRIMARY KEY,
	venue    TEXT NOT NULL REFERENCES venues(id),
	subject  TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	at       INTEGER NOT NULL,
	slot     INTEGER NOT NULL,
	verified INTEGER NOT NULL
);
CREATE INDEX checkins_venue_at ON checkins(venue, at);
CREATE INDEX checkins_subject_at ON checkins(subject, at);
-- A live code is good for one check-in per person and slot: a replay adds nothing.
CREATE UNIQUE INDEX checkins_replay ON checkins(venue, subject, slot) WHERE slot >= 0;

CREATE TABLE designations (
	id              INTEGER PRIMARY KEY,
	venue           TEXT NOT NULL DEFAULT '',
	area            TEXT NOT NULL DEFAULT '',
	level           TEXT NOT NULL,
	reason          TEXT NOT NULL,
	cases           TEXT NOT NULL,
	window_from     INTEGER NOT NULL,
	window_until    INTEGER NOT NULL,
	expires         INTEGER NOT NULL,
	status          TEXT NOT NULL,
	requester_id    TEXT NOT NULL,
	requester_name  TEXT NOT NULL,
	requester_role  TEXT NOT NULL,
	requester_unit  TEXT NOT NULL,
	approver_id     TEXT NOT NULL DEFAULT '',
	approver_name   TEXT NOT NULL DEFAULT '',
	approver_role   TEXT NOT NULL DEFAULT '',
	approver_unit   TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	approved_at     INTEGER NOT NULL DEFAULT 0,
	log_index       INTEGER NOT NULL DEFAULT -1
);
CREATE INDEX designations_expires ON designations(expires);

-- Every read of personal data by an official (invariant 7).
CREATE TABLE access_records (
	id         INTEGER PRIMARY KEY,
	at         INTEGER NOT NULL,
	actor_id   TEXT NOT NULL,
	actor_name TEXT NOT NULL,
	actor_role TEXT NOT NULL,
	actor_unit TEXT NOT NULL,
	purpose    TEXT NOT NULL,
	case_ref   TEXT NOT NULL,
	what       TEXT NOT NULL,
	subject    TEXT NOT NULL
);
CREATE INDEX access_records_subject ON access_records(subject, at);
