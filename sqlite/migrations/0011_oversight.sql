-- Oversight: the alerts detectors raise, auditors' reviews of them, each
-- detector's position, and the webhook's delivery attempts. Lists are JSON
-- arrays (people, log indexes); the officials a review freezes have a table
-- of their own, so that "is this official under review" is one index look-up.
CREATE TABLE oversight_alerts (
	id              INTEGER PRIMARY KEY,
	detector        TEXT NOT NULL,
	key             TEXT NOT NULL,
	opened_at       INTEGER NOT NULL,
	first_effect_at INTEGER NOT NULL,
	summary         TEXT NOT NULL,
	officials       TEXT NOT NULL,
	units           TEXT NOT NULL,
	people          TEXT NOT NULL,
	log_indexes     TEXT NOT NULL,
	review          INTEGER NOT NULL DEFAULT 0,
	closed_at       INTEGER NOT NULL DEFAULT 0,
	UNIQUE (detector, key)
);
CREATE INDEX oversight_alerts_opened ON oversight_alerts (opened_at);

CREATE TABLE oversight_alert_officials (
	official TEXT NOT NULL,
	alert    INTEGER NOT NULL REFERENCES oversight_alerts (id),
	PRIMARY KEY (official, alert)
) WITHOUT ROWID;

CREATE TABLE oversight_reviews (
	id              INTEGER PRIMARY KEY,
	alert           INTEGER NOT NULL REFERENCES oversight_alerts (id),
	note            TEXT NOT NULL,
	status          TEXT NOT NULL,
	opener_id       TEXT NOT NULL,
	opener_name     TEXT NOT NULL,
	opener_role     TEXT NOT NULL,
	opener_unit     TEXT NOT NULL,
	opened_at       INTEGER NOT NULL,
	expires         INTEGER NOT NULL,
	confirmer_id    TEXT NOT NULL DEFAULT '',
	confirmer_name  TEXT NOT NULL DEFAULT '',
	confirmer_role  TEXT NOT NULL DEFAULT '',
	confirmer_unit  TEXT NOT NULL DEFAULT '',
	confirmed_at    INTEGER NOT NULL DEFAULT 0,
	closer_id       TEXT NOT NULL DEFAULT '',
	closer_name     TEXT NOT NULL DEFAULT '',
	closer_role     TEXT NOT NULL DEFAULT '',
	closer_unit     TEXT NOT NULL DEFAULT '',
	closed_at       INTEGER NOT NULL DEFAULT 0,
	close_note      TEXT NOT NULL DEFAULT '',
	log_index       INTEGER NOT NULL,
	close_index     INTEGER NOT NULL DEFAULT -1
);

CREATE TABLE oversight_review_officials (
	official TEXT NOT NULL,
	review   INTEGER NOT NULL REFERENCES oversight_reviews (id),
	PRIMARY KEY (official, review)
) WITHOUT ROWID;

CREATE TABLE oversight_cursors (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE oversight_deliveries (
	id      INTEGER PRIMARY KEY,
	alert   INTEGER NOT NULL REFERENCES oversight_alerts (id),
	attempt INTEGER NOT NULL,
	at      INTEGER NOT NULL,
	status  INTEGER NOT NULL,
	error   TEXT NOT NULL
);
CREATE INDEX oversight_deliveries_alert ON oversight_deliveries (alert, id);
CREATE INDEX people_created ON people (created_at);
