-- Leaf format version 2 commits more than the subject: a person's reason,
-- rule, evidence digest and institution, and every official's free text.
-- The opening of a leaf is its salt followed by the committed values (a
-- version 1 leaf's opening is its salt alone, so existing rows stay valid);
-- the subject may be empty for a leaf that commits only a note.
ALTER TABLE log_openings RENAME COLUMN salt TO opening;
