-- Sample collection before results (采样登记): a sampler records each sample
-- taken into a tube; a lab reports results by tube only.
CREATE TABLE tubes (
	id          TEXT PRIMARY KEY,
	mixed       INTEGER NOT NULL,
	unit        TEXT NOT NULL,
	members     INTEGER NOT NULL DEFAULT 0,
	opened_at   INTEGER NOT NULL,
	result_by   TEXT NOT NULL DEFAULT '',
	result_kind TEXT NOT NULL DEFAULT '',
	result      TEXT NOT NULL DEFAULT '',
	result_at   INTEGER NOT NULL DEFAULT 0
);

-- Collections name people: deleted with them (sunset) and after the
-- retention of test results (purge).
CREATE TABLE collections (
	id             INTEGER PRIMARY KEY,
	tube           TEXT NOT NULL REFERENCES tubes(id),
	subject        TEXT NOT NULL REFERENCES people(pseudonym) ON DELETE CASCADE,
	site           TEXT NOT NULL,
	collector      TEXT NOT NULL,
	collector_name TEXT NOT NULL,
	collector_unit TEXT NOT NULL,
	collected_at   INTEGER NOT NULL,
	recorded_at    INTEGER NOT NULL,
	UNIQUE (tube, subject)
);
CREATE INDEX collections_subject ON collections(subject);
CREATE INDEX collections_collected_at ON collections(collected_at);
