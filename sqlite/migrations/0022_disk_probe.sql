-- One row the node rewrites, with some padding, to learn whether its disk
-- takes writes again after refusing one (sqlite/diskprobe.go): so that
-- /healthz stops saying "degraded" once space is back even if no client
-- writes meanwhile. It holds nothing else.
CREATE TABLE disk_probe (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	at  INTEGER NOT NULL,
	pad BLOB NOT NULL
);
