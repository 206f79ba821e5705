-- The purge job deletes by age: these let it find expired check-ins and
-- access records without scanning the tables (both grow in time order, so
-- the indexes are appended to, not rewritten). Expired evidence is found
-- with one scan of its table per purge, which keeps the import path free of
-- another index.
CREATE INDEX checkins_at ON checkins(at);
CREATE INDEX access_records_at ON access_records(at);
