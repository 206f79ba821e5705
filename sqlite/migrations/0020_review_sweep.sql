-- The sweep over everyone with evidence after a rule set is published: the
-- version it applies and the last pseudonym re-evaluated, written in the
-- transaction of each batch's decisions, so a restart carries on where it
-- stopped. At most one row; none when no sweep is under way.
CREATE TABLE review_sweep (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version TEXT NOT NULL,
	after   TEXT NOT NULL
);
