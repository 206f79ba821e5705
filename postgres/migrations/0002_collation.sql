-- Text compares and sorts byte by byte, as on SQLite, whatever the
-- database's locale: ids, pseudonyms and names page (WHERE id > $1 ORDER BY
-- id) and list in the same order on both backends, and the indexes on them
-- skip the locale's rules. Every text column of the node's tables (and of
-- those later migrations add, which declare COLLATE "C" themselves) gets the
-- "C" collation; a partitioned table's partitions follow their parent.
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT c.table_name, c.column_name
		FROM information_schema.columns c
		JOIN pg_class k ON k.relname = c.table_name AND k.relnamespace = current_schema()::regnamespace
		WHERE c.table_schema = current_schema() AND c.data_type = 'text'
			AND coalesce(c.collation_name, '') <> 'C'
			AND k.relkind IN ('r', 'p') AND NOT k.relispartition
	LOOP
		EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE text COLLATE "C"', r.table_name, r.column_name);
	END LOOP;
END$$;
