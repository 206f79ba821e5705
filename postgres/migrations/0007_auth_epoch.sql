-- The auth epoch (healthcode.ReadTx.AuthEpoch): one number the database
-- itself moves whenever a stored token could have become unusable or could
-- speak for someone else — a token revoked or deleted, an official created,
-- changed or deleted — whoever wrote it (this node, another node on the
-- same database, `healthcode admin revoke`). A node keeps tokens it has
-- read in memory only while the epoch it read with them is current. A new
-- token does not move it: it changes no token already read. Statement
-- triggers: a sunset deleting every citizen's token moves it once.
CREATE TABLE auth_epoch (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 0);

CREATE OR REPLACE FUNCTION auth_epoch_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
	RETURN NULL;
END;
$$;

CREATE TRIGGER auth_epoch_tokens AFTER UPDATE OR DELETE OR TRUNCATE ON tokens
	FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_move();
CREATE TRIGGER auth_epoch_officials AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON officials
	FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_move();
