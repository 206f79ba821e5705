-- Testing duties (issue 17): a duty's end and the longest time allowed
-- between two tests, in nanoseconds; 0 for every other kind.
ALTER TABLE evidence ADD COLUMN duty_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE evidence ADD COLUMN duty_every INTEGER NOT NULL DEFAULT 0;
