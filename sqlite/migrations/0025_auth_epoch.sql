-- The auth epoch (healthcode.ReadTx.AuthEpoch): one number the database
-- itself moves whenever a stored token could have become unusable or could
-- speak for someone else — a token revoked or deleted, an official created,
-- changed or deleted — whoever wrote it (the node, `healthcode admin revoke`
-- in another process, a tamper drill). A node keeps tokens it has read in
-- memory only while the epoch it read with them is current. A new token
-- does not move it: it changes no token already read.
CREATE TABLE auth_epoch (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 0);

CREATE TRIGGER auth_epoch_token_update AFTER UPDATE ON tokens
BEGIN
	UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_token_delete AFTER DELETE ON tokens
BEGIN
	UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_official_insert AFTER INSERT ON officials
BEGIN
	UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_official_update AFTER UPDATE ON officials
BEGIN
	UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_official_delete AFTER DELETE ON officials
BEGIN
	UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
