-- Cases are records, opened by a clinic's diagnosis (issue 9).
CREATE TABLE cases (
	id               TEXT PRIMARY KEY,
	subject          TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	diagnosis        INTEGER NOT NULL,
	clinic_id        TEXT NOT NULL,
	clinic_name      TEXT NOT NULL,
	clinic_role      TEXT NOT NULL,
	clinic_unit      TEXT NOT NULL,
	diagnosed_at     INTEGER NOT NULL,
	infectious_from  INTEGER NOT NULL,
	infectious_until INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	log_index        INTEGER NOT NULL
);
CREATE INDEX cases_subject ON cases(subject);

-- Contact, travel and quarantine records resting on an interview: they wait
-- for a second epidemiologist of another unit (and, past a bulk limit, an
-- auditor) before they become evidence.
CREATE TABLE pending_records (
	id             INTEGER PRIMARY KEY,
	subject        TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	evidence       BLOB NOT NULL,
	link_kind      TEXT NOT NULL,
	link_venue     TEXT NOT NULL,
	link_via       TEXT NOT NULL,
	case_id        TEXT NOT NULL,
	status         TEXT NOT NULL,
	cosign_needed  INTEGER NOT NULL,
	requester_id   TEXT NOT NULL,
	requester_name TEXT NOT NULL,
	requester_role TEXT NOT NULL,
	requester_unit TEXT NOT NULL,
	confirmer_id   TEXT NOT NULL DEFAULT '',
	confirmer_name TEXT NOT NULL DEFAULT '',
	confirmer_role TEXT NOT NULL DEFAULT '',
	confirmer_unit TEXT NOT NULL DEFAULT '',
	cosigner_id    TEXT NOT NULL DEFAULT '',
	cosigner_name  TEXT NOT NULL DEFAULT '',
	cosigner_role  TEXT NOT NULL DEFAULT '',
	cosigner_unit  TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	decided_at     INTEGER NOT NULL DEFAULT 0,
	evidence_id    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pending_records_subject ON pending_records(subject);
CREATE INDEX pending_records_status ON pending_records(status, created_at);

-- Unmask requests: an epidemiologist asks, an approver of another unit
-- approves, the person sees both.
CREATE TABLE unmask_requests (
	id             INTEGER PRIMARY KEY,
	subject        TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	purpose        TEXT NOT NULL,
	case_id        TEXT NOT NULL,
	status         TEXT NOT NULL,
	requester_id   TEXT NOT NULL,
	requester_name TEXT NOT NULL,
	requester_role TEXT NOT NULL,
	requester_unit TEXT NOT NULL,
	approver_id    TEXT NOT NULL DEFAULT '',
	approver_name  TEXT NOT NULL DEFAULT '',
	approver_role  TEXT NOT NULL DEFAULT '',
	approver_unit  TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	approved_at    INTEGER NOT NULL DEFAULT 0,
	expires        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX unmask_requests_subject ON unmask_requests(subject);

-- The people each restrictive request named, as the bulk limits count them.
CREATE TABLE bulk_people (
	kind      TEXT NOT NULL,
	ref       INTEGER NOT NULL,
	subject   TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	requester TEXT NOT NULL,
	approver  TEXT NOT NULL DEFAULT '',
	case_id   TEXT NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (kind, ref, subject)
);
CREATE INDEX bulk_people_requester ON bulk_people(requester, at);
CREATE INDEX bulk_people_approver ON bulk_people(approver, at);
CREATE INDEX bulk_people_case ON bulk_people(case_id, at);

-- An override that crossed a bulk limit waits for an auditor.
ALTER TABLE overrides ADD COLUMN cosign_needed INTEGER NOT NULL DEFAULT 0;
UPDATE overrides SET cosign_needed = 1
	WHERE colour >= 2 AND (SELECT count(*) FROM override_subjects WHERE override = overrides.id) > 20;
