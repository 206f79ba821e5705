-- An auditor's co-signature on a designation that would create more
-- exposures than the node's bound, and how many its approval created.
ALTER TABLE designations ADD COLUMN cosigner_id TEXT NOT NULL DEFAULT '';
ALTER TABLE designations ADD COLUMN cosigner_name TEXT NOT NULL DEFAULT '';
ALTER TABLE designations ADD COLUMN cosigner_role TEXT NOT NULL DEFAULT '';
ALTER TABLE designations ADD COLUMN cosigner_unit TEXT NOT NULL DEFAULT '';
ALTER TABLE designations ADD COLUMN cosigned_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE designations ADD COLUMN exposures INTEGER NOT NULL DEFAULT -1;
