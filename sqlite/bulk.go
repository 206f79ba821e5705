package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"healthcode"
)

var _ healthcode.BulkLoader = (*DB)(nil)

// Rows per multi-row INSERT and per transaction of a bulk load. A statement
// of a few hundred rows amortises the driver's per-call cost; a transaction
// of a few hundred thousand keeps the write-ahead log around a hundred MB.
const (
	bulkPeopleRows   = 256
	bulkCheckInRows  = 512
	bulkCommitPeople = 200_000
	bulkCommitRows   = 1_000_000
)

// BulkLoad implements healthcode.BulkLoader. It holds the writer for the
// whole load on a connection of its own, tuned for it: a 2 GiB page cache
// (people's keys are random: their indexes must stay in memory),
// synchronous=OFF (the journal stays WAL, so a crash loses the last steps
// but never corrupts the file; the load is of a new store), sorter threads
// for the index builds. The check-ins' secondary indexes are dropped at the
// first AddCheckIns (the people's at the first AddPeople) and built again,
// from their stored definitions, before BulkLoad returns: sorting once is
// much faster than a hundred million random index inserts. The check-ins'
// foreign keys are checked then too, once per distinct person and venue. Then the connection goes back to the node's
// settings (synchronous=FULL) and is closed, so its cache is freed.
func (db *DB) BulkLoad(ctx context.Context, fn func(healthcode.BulkTx) error) (err error) {
	if db.write == nil {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "sqlite.read_only", "the database is open for reading only")
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite.BulkLoad: %w", err)
	}
	defer func() {
		// Discard the connection: its cache and pragmas die with it.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}()
	for _, p := range []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -2097152", "PRAGMA threads = 4", "PRAGMA temp_store = FILE"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("sqlite.BulkLoad: %s: %w", p, err)
		}
	}
	b := &bulkTx{ctx: ctx, conn: conn}
	defer func() {
		if b.tx != nil {
			b.tx.Rollback()
		}
	}()
	if err := fn(b); err != nil {
		// Best effort: a store is not left without its indexes.
		if b.tx != nil {
			b.tx.Rollback()
			b.tx = nil
		}
		b.restoreIndexes(ctx)
		return err
	}
	if err := b.commit(); err != nil {
		return err
	}
	if err := b.restoreIndexes(ctx); err != nil {
		return err
	}
	for _, p := range []string{"PRAGMA synchronous = FULL", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("sqlite.BulkLoad: %s: %w", p, err)
		}
	}
	return db.noteWrite(nil)
}

type bulkTx struct {
	ctx     context.Context
	conn    *sql.Conn
	tx      *sql.Tx
	pending int // rows written in tx
	stmts   map[string]*sql.Stmt
	// dropped holds the definitions of the secondary indexes dropped for
	// the load (of the tables in droppedFor), to build again at its end.
	dropped    []string
	droppedFor map[string]bool
	// checkKeys is set when the check-ins' foreign keys are left to the end,
	// checkPeopleKeys when the person_keys rows' are.
	checkKeys, checkPeopleKeys bool
}

// begin returns the open transaction, committing it first if it holds
// limit rows or more.
func (b *bulkTx) begin(limit int) (*sql.Tx, error) {
	if b.tx != nil && b.pending >= limit {
		if err := b.commit(); err != nil {
			return nil, err
		}
	}
	if b.tx == nil {
		tx, err := b.conn.BeginTx(b.ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("sqlite.BulkLoad: begin: %w", err)
		}
		b.tx, b.pending, b.stmts = tx, 0, map[string]*sql.Stmt{}
	}
	return b.tx, nil
}

func (b *bulkTx) commit() error {
	if b.tx == nil {
		return nil
	}
	err := b.tx.Commit()
	b.tx = nil
	if err != nil {
		return fmt.Errorf("sqlite.BulkLoad: commit: %w", err)
	}
	return nil
}

// exec runs a multi-row insert of n rows of row, prepared once per
// transaction and size.
func (b *bulkTx) exec(prefix, row string, n int, args []any) error {
	q := multiInsert(prefix, row, n)
	s, ok := b.stmts[q]
	if !ok {
		var err error
		if s, err = b.tx.PrepareContext(b.ctx, q); err != nil {
			return err
		}
		b.stmts[q] = s
	}
	_, err := s.ExecContext(b.ctx, args...)
	return err
}

// AddPeople implements healthcode.BulkTx.
func (b *bulkTx) AddPeople(ctx context.Context, ps []*healthcode.Person) error {
	for _, p := range ps {
		if err := p.Validate(); err != nil {
			return err
		}
	}
	if !b.droppedFor["people"] {
		if err := b.dropIndexes(ctx, "people"); err != nil {
			return err
		}
		// Each person_keys row names the people row inserted just before
		// it in the same transaction: its foreign key holds by
		// construction, and is checked again at the end.
		if _, err := b.conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return fmt.Errorf("sqlite.BulkLoad: %w", err)
		}
		b.checkPeopleKeys = true
	}
	if _, err := b.begin(bulkCommitPeople); err != nil {
		return err
	}
	people := make([]any, 0, 6*bulkPeopleRows)
	keys := make([]any, 0, 2*bulkPeopleRows)
	for start := 0; start < len(ps); {
		n := chunkSize(len(ps)-start, bulkPeopleRows)
		people, keys = people[:0], keys[:0]
		for _, p := range ps[start : start+n] {
			people = append(people, p.Pseudonym, p.Region, p.MaskedName, p.IDHash, p.Sealed, nanos(p.CreatedAt))
			keys = append(keys, p.Pseudonym, p.WrappedKey)
		}
		// OR ROLLBACK: a repeated pseudonym or ID hash ends the whole
		// transaction (and the load) rather than the statement alone, so
		// SQLite keeps no statement journal (a copy of every page the
		// statement touches, which cost a third of the writer's time).
		err := b.exec(`INSERT OR ROLLBACK INTO people (pseudonym, region, masked_name, id_hash, sealed, created_at) VALUES `, "(?, ?, ?, ?, ?, ?)", n, people)
		if err == nil {
			err = b.exec(`INSERT OR ROLLBACK INTO person_keys (pseudonym, wrapped) VALUES `, "(?, ?)", n, keys)
		}
		if err != nil {
			// The transaction is gone with the statement.
			b.tx.Rollback()
			b.tx = nil
		}
		if isUnique(err) {
			return healthcode.Errorfd(healthcode.ECONFLICT, "person.exists", "person already registered")
		} else if err != nil {
			return fmt.Errorf("sqlite.AddPeople: %w", err)
		}
		start += n
	}
	b.pending += len(ps)
	return nil
}

// AddCheckIns implements healthcode.BulkTx.
func (b *bulkTx) AddCheckIns(ctx context.Context, cs []*healthcode.CheckIn) error {
	if !b.droppedFor["checkins"] {
		if err := b.dropIndexes(ctx, "checkins"); err != nil {
			return err
		}
		// Each row's two foreign keys are checked once at the end, per
		// distinct person and venue, rather than a hundred million times.
		if _, err := b.conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return fmt.Errorf("sqlite.BulkLoad: %w", err)
		}
		b.checkKeys = true
	}
	if _, err := b.begin(bulkCommitRows); err != nil {
		return err
	}
	args := make([]any, 0, 5*bulkCheckInRows)
	for start := 0; start < len(cs); {
		n := chunkSize(len(cs)-start, bulkCheckInRows)
		args = args[:0]
		for _, c := range cs[start : start+n] {
			args = append(args, c.Venue, c.Subject, nanos(c.At), c.Slot, c.Verified)
		}
		// OR ROLLBACK, as for people: no statement journal.
		err := b.exec(`INSERT OR ROLLBACK INTO checkins (venue, subject, at, slot, verified) VALUES `, "(?, ?, ?, ?, ?)", n, args)
		if err != nil {
			b.tx.Rollback()
			b.tx = nil
		}
		if isUnique(err) {
			return healthcode.Errorfd(healthcode.ECONFLICT, "checkin.repeat", "the bulk load holds a live-code check-in twice (same venue, person and slot)")
		} else if isForeignKey(err) {
			return healthcode.Errorfd(healthcode.ENOTFOUND, "checkin.unknown", "a check-in names an unknown venue or person")
		} else if err != nil {
			return fmt.Errorf("sqlite.AddCheckIns: %w", err)
		}
		start += n
	}
	b.pending += len(cs)
	return nil
}

// dropIndexes drops a table's secondary indexes (not those of its primary
// key and unique constraints, which SQLite makes itself), keeping their
// definitions.
func (b *bulkTx) dropIndexes(ctx context.Context, table string) error {
	if err := b.commit(); err != nil {
		return err
	}
	if b.droppedFor == nil {
		b.droppedFor = map[string]bool{}
	}
	b.droppedFor[table] = true
	rows, err := b.conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`, table)
	if err != nil {
		return fmt.Errorf("sqlite.BulkLoad: %w", err)
	}
	var names []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite.BulkLoad: %w", err)
		}
		names = append(names, name)
		b.dropped = append(b.dropped, def)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("sqlite.BulkLoad: %w", err)
	}
	for _, name := range names {
		if _, err := b.conn.ExecContext(ctx, `DROP INDEX "`+strings.ReplaceAll(name, `"`, `""`)+`"`); err != nil {
			return fmt.Errorf("sqlite.BulkLoad: drop index %s: %w", name, err)
		}
	}
	return nil
}

// restoreIndexes builds the dropped indexes again (a unique index that
// finds a repeated live-code check-in refuses the load), then checks the
// foreign keys of the check-ins loaded without them.
func (b *bulkTx) restoreIndexes(ctx context.Context) error {
	for _, def := range b.dropped {
		if _, err := b.conn.ExecContext(ctx, def); isUnique(err) {
			return healthcode.Errorfd(healthcode.ECONFLICT, "checkin.repeat", "the bulk load holds a live-code check-in twice (same venue, person and slot)")
		} else if err != nil {
			return fmt.Errorf("sqlite.BulkLoad: %s: %w", def, err)
		}
	}
	b.dropped, b.droppedFor = nil, nil
	if !b.checkKeys && !b.checkPeopleKeys {
		return nil
	}
	if _, err := b.conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`); err != nil {
		return fmt.Errorf("sqlite.BulkLoad: %w", err)
	}
	type check struct{ q, code, what string }
	var qs []check
	if b.checkPeopleKeys {
		// In the order of the keys the load appended: each look-up next
		// to the last.
		qs = append(qs, check{`SELECT count(*) FROM person_keys k WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.pseudonym = k.pseudonym)`, "person.unknown", "wrapped keys of unknown people"})
	}
	if b.checkKeys {
		// Through the indexes just built: each distinct person and venue
		// once.
		qs = append(qs,
			check{`SELECT count(*) FROM (SELECT DISTINCT subject FROM checkins) c WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.pseudonym = c.subject)`, "checkin.unknown", "check-ins naming unknown people"},
			check{`SELECT count(*) FROM (SELECT DISTINCT venue FROM checkins) c WHERE NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = c.venue)`, "checkin.unknown", "check-ins naming unknown venues"})
	}
	b.checkKeys, b.checkPeopleKeys = false, false
	for _, c := range qs {
		var missing int64
		if err := b.conn.QueryRowContext(ctx, c.q).Scan(&missing); err != nil {
			return fmt.Errorf("sqlite.BulkLoad: checking keys: %w", err)
		}
		if missing > 0 {
			return healthcode.Errorfd(healthcode.ENOTFOUND, c.code, "the bulk load holds %s (%d)", c.what, missing)
		}
	}
	return nil
}
