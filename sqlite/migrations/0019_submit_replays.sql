-- What a keyed submission of evidence answered (Idempotency-Key), so that
-- the same key from the same submitter gets the same answer: an import
-- resumed after a crash counts exactly. Kept for a week.
CREATE TABLE submit_replays (
	submitter TEXT NOT NULL,
	key       TEXT NOT NULL,
	digest    BLOB NOT NULL,
	outcomes  BLOB NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (submitter, key)
) WITHOUT ROWID;
CREATE INDEX submit_replays_at ON submit_replays (submitter, at);
