// Package sqlite stores a healthcode node in one embedded SQLite file. It
// implements healthcode.Store with the pure-Go modernc.org/sqlite driver:
// writes go one transaction at a time (begun IMMEDIATE, so they never fail on
// a lock upgrade), reads go to a pool of read-only connections under WAL, and
// every statement is prepared once and reused.
//
// It never decides a colour or builds a log leaf: it keeps what the engine
// hands it, in the transaction the engine opens.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"healthcode"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a healthcode store on SQLite.
type DB struct {
	path  string
	write *sql.DB
	read  *sql.DB
	// Prepared statements, by query text, for each pool: the driver parses
	// a statement once, not on every call.
	writeStmts, readStmts stmtCache
	writeMu               sync.Mutex // one write transaction at a time
	// fault is the disk's refusal of the last write (diskfault.go).
	fault atomic.Pointer[diskFault]
	// probing is set while a probe write is under way (diskprobe.go).
	probing atomic.Bool
}

// stmtCache holds statements prepared on a pool, by query text. A
// transaction never waits for one: on a miss it prepares the statement on its
// own connection for that call and has the pool's copy prepared in the
// background. (Preparing on the pool from inside a transaction would need a
// second free connection, and a full pool of transactions each waiting for one
// is a deadlock.)
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
	closed  bool
	wg      sync.WaitGroup // background preparations
}

func (c *stmtCache) lookup(query string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[query]
	if !ok && !c.closed && !c.pending[query] {
		if c.pending == nil {
			c.pending = map[string]bool{}
		}
		c.pending[query] = true
		c.wg.Add(1)
		go c.prepare(query)
	}
	return s, ok
}

func (c *stmtCache) prepare(query string) {
	defer c.wg.Done()
	s, err := c.db.Prepare(query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil {
		return // the caller's own preparation reports the error
	}
	if c.closed {
		s.Close()
		return
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = s
}

// close waits for background preparations and closes every statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = nil
}

var _ healthcode.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and applies the
// embedded migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, healthcode.Errorf(healthcode.EINVALID, "sqlite: database path required")
	}
	// The file holds personal data and keys' work: only the node's user
	// reads it. SQLite creates -wal and -shm with the main file's mode, so
	// the main file is created (or narrowed) first.
	if err := restrictFiles(path, true); err != nil {
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	// synchronous=FULL: a commit reaches the disk before it is
	// acknowledged, so an acknowledged change survives a power cut, not only
	// a killed process. Group commit keeps the fsyncs few.
	pragmas := url.Values{}
	// A 64 MiB page cache per connection: index inserts into tables of
	// millions of rows (check-ins, evidence) stay in memory. secure_delete:
	// deleted personal data (retention, sunset) is overwritten, not left in
	// free pages.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)", "cache_size(-65536)", "secure_delete(1)"} {
		pragmas.Add("_pragma", p)
	}
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	// Writers take turns on writeMu; the second connection lets the
	// statement cache prepare while the first is inside a transaction.
	w.SetMaxOpenConns(2)
	w.SetMaxIdleConns(2)
	w.SetConnMaxIdleTime(0)
	db := &DB{path: path, write: w}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := restrictFiles(path, false); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	// Readers: a 16 MiB page cache each. A read touches a few pages of
	// each index, and the kernel's page cache holds the file for all of
	// them: the node's memory stays bounded
	// whatever the city's size (the writers' 64 MiB are for index inserts).
	for i, p := range pragmas["_pragma"] {
		if strings.HasPrefix(p, "cache_size(") {
			pragmas["_pragma"][i] = "cache_size(-16384)"
		}
	}
	pragmas.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite.Open: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.read = r
	db.writeStmts.db, db.readStmts.db = w, r
	return db, nil
}

// FileMode is the mode of the database file and its -wal and -shm.
const FileMode = 0o600

// restrictFiles makes the database file (created if create and absent), its
// -wal and its -shm readable by the owner only.
func restrictFiles(path string, create bool) error {
	if create {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
		if err == nil {
			f.Close()
		} else if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		if st.Mode().Perm() != FileMode {
			if err := os.Chmod(p, FileMode); err != nil {
				return err
			}
		}
	}
	return nil
}

// OpenReadOnly opens an existing database for an audit: no migration runs
// and every connection is query_only, so the audit changes nothing in the
// file it audits. Update fails.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "sqlite.no_file", "no database file %s", path)
	}
	pragmas := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "query_only(1)", "cache_size(-65536)"} {
		pragmas.Add("_pragma", p)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite.OpenReadOnly: %w", err)
	}
	db := &DB{path: path, read: r}
	db.readStmts.db = r
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.writeStmts.close()
	db.readStmts.close()
	err1 := db.read.Close()
	var err2 error
	if db.write != nil {
		err2 = db.write.Close()
	}
	return errors.Join(err1, err2)
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite.migrate: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite.migrate: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite.migrate: %w", err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		body, _ := migrationFS.ReadFile(name)
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite.migrate %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().Unix()); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite.migrate: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite.migrate: %w", err)
		}
	}
	return nil
}

// Update runs fn in one IMMEDIATE transaction on the writer connection.
func (db *DB) Update(ctx context.Context, fn func(healthcode.Tx) error) error {
	if db.write == nil {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "sqlite.read_only", "the database is open for reading only")
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.noteWrite(fmt.Errorf("sqlite.Update: begin: %w", err))
	}
	// A callback that panics leaves nothing half-applied, and the write
	// lock is not left to an open transaction (Rollback after Commit is a
	// no-op).
	defer sqlTx.Rollback()
	tx := &Tx{tx: sqlTx, stmts: &db.writeStmts, nextLeaf: -1}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		if c := diskError(err); c != err {
			return db.noteWrite(err)
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return db.noteWrite(fmt.Errorf("sqlite.Update: commit: %w", err))
	}
	return db.noteWrite(nil)
}

// View runs fn in one read transaction on a reader connection.
func (db *DB) View(ctx context.Context, fn func(healthcode.ReadTx) error) error {
	sqlTx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite.View: begin: %w", err)
	}
	defer sqlTx.Rollback()
	return fn(&Tx{tx: sqlTx, stmts: &db.readStmts, nextLeaf: -1})
}

// Exec runs raw SQL on the writer: for tests and tamper drills only.
func (db *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := db.write.ExecContext(ctx, query, args...)
	return err
}

// Tx is a transaction; it implements healthcode.Tx.
type Tx struct {
	tx    *sql.Tx
	stmts *stmtCache
	// nextLeaf is the index the next log leaf must have, once known in
	// this transaction (-1 before).
	nextLeaf int64
}

func (tx *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := tx.stmts.lookup(query); ok {
		return tx.tx.StmtContext(ctx, s), nil
	}
	return tx.tx.PrepareContext(ctx, query)
}

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// row is *sql.Row or a preparation error that Scan reports.
type row struct {
	r   *sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) row {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return row{err: err}
	}
	return row{r: s.QueryRowContext(ctx, args...)}
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func isUnique(err error) bool {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func isForeignKey(err error) bool {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3lib.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

const personCols = `p.pseudonym, p.region, p.masked_name, p.id_hash, p.sealed, p.created_at, coalesce(k.wrapped, x'')`

func scanPerson(row interface{ Scan(...any) error }) (*healthcode.Person, error) {
	var p healthcode.Person
	var created int64
	if err := row.Scan(&p.Pseudonym, &p.Region, &p.MaskedName, &p.IDHash, &p.Sealed, &created, &p.WrappedKey); err != nil {
		return nil, err
	}
	p.CreatedAt = fromNanos(created)
	return &p, nil
}

// Person implements healthcode.ReadTx.
func (tx *Tx) Person(ctx context.Context, pseudonym string) (*healthcode.Person, error) {
	p, err := scanPerson(tx.queryRow(ctx, `SELECT `+personCols+` FROM people p LEFT JOIN person_keys k USING (pseudonym) WHERE p.pseudonym = ?`, pseudonym))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", pseudonym)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite.Person: %w", err)
	}
	return p, nil
}

// PersonByIDHash implements healthcode.ReadTx.
func (tx *Tx) PersonByIDHash(ctx context.Context, idHash []byte) (*healthcode.Person, error) {
	p, err := scanPerson(tx.queryRow(ctx, `SELECT `+personCols+` FROM people p LEFT JOIN person_keys k USING (pseudonym) WHERE p.id_hash = ?`, idHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person with that ID number")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite.PersonByIDHash: %w", err)
	}
	return p, nil
}

// jsonList encodes values as a JSON array, the one parameter that queries
// over a set of keys take (through json_each), so that a set of any size is
// one prepared statement.
func jsonList[T any](values []T) (string, error) {
	b, err := json.Marshal(values)
	return string(b), err
}

// PseudonymsByIDHash implements healthcode.ReadTx.
func (tx *Tx) PseudonymsByIDHash(ctx context.Context, idHashes [][]byte) (map[string]string, error) {
	out := make(map[string]string, len(idHashes))
	if len(idHashes) == 0 {
		return out, nil
	}
	hexes := make([]string, len(idHashes))
	for i, h := range idHashes {
		hexes[i] = hex.EncodeToString(h)
	}
	list, err := jsonList(hexes)
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, `SELECT id_hash, pseudonym FROM people WHERE id_hash IN (SELECT unhex(value) FROM json_each(?))`, list)
	if err != nil {
		return nil, fmt.Errorf("sqlite.PseudonymsByIDHash: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h []byte
		var p string
		if err := rows.Scan(&h, &p); err != nil {
			return nil, fmt.Errorf("sqlite.PseudonymsByIDHash: %w", err)
		}
		out[string(h)] = p
	}
	return out, rows.Err()
}

// PeopleCount implements healthcode.ReadTx.
func (tx *Tx) PeopleCount(ctx context.Context) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT count(*) FROM people`).Scan(&n)
	return n, err
}

// Pseudonyms implements healthcode.ReadTx.
func (tx *Tx) Pseudonyms(ctx context.Context, after string, limit int) ([]string, error) {
	return tx.queryStrings(ctx, `SELECT pseudonym FROM people WHERE pseudonym > ? ORDER BY pseudonym LIMIT ?`, after, limit)
}

func (tx *Tx) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CreatePerson implements healthcode.Tx.
func (tx *Tx) CreatePerson(ctx context.Context, p *healthcode.Person) error {
	if err := p.Validate(); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO people (pseudonym, region, masked_name, id_hash, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		p.Pseudonym, p.Region, p.MaskedName, p.IDHash, p.Sealed, nanos(p.CreatedAt))
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "person.exists", "person already registered")
	} else if err != nil {
		return fmt.Errorf("sqlite.CreatePerson: %w", err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO person_keys (pseudonym, wrapped) VALUES (?, ?)`, p.Pseudonym, p.WrappedKey); err != nil {
		return fmt.Errorf("sqlite.CreatePerson: key: %w", err)
	}
	return nil
}

const evidenceCols = `id, kind, subject, submitter, submitter_name, submitter_role, external_id, observed_at, recorded_at,
	result, pooled, pool_id, diagnosis, case_ref, risk_level, area, dose, venue, verified, duty_until, duty_every`

func scanEvidence(row interface{ Scan(...any) error }) (*healthcode.Evidence, error) {
	var e healthcode.Evidence
	var observed, recorded, until, every int64
	if err := row.Scan(&e.ID, &e.Kind, &e.Subject, &e.Submitter, &e.SubmitterName, &e.SubmitterRole, &e.ExternalID,
		&observed, &recorded, &e.Result, &e.Pooled, &e.PoolID, &e.Diagnosis, &e.CaseRef, &e.RiskLevel, &e.Area, &e.Dose, &e.Venue, &e.Verified,
		&until, &every); err != nil {
		return nil, err
	}
	e.ObservedAt, e.RecordedAt = fromNanos(observed), fromNanos(recorded)
	if until != 0 {
		e.Until = fromNanos(until)
	}
	e.Every = time.Duration(every)
	return &e, nil
}

// Evidence implements healthcode.ReadTx.
func (tx *Tx) Evidence(ctx context.Context, subject string) ([]healthcode.Evidence, error) {
	rows, err := tx.query(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE subject = ? ORDER BY observed_at, id`, subject)
	if err != nil {
		return nil, fmt.Errorf("sqlite.Evidence: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Evidence
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite.Evidence: %w", err)
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// EvidenceRows implements healthcode.ReadTx.
func (tx *Tx) EvidenceRows(ctx context.Context, after int64, limit int) ([]healthcode.Evidence, error) {
	rows, err := tx.query(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite.EvidenceRows: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Evidence
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite.EvidenceRows: %w", err)
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// EvidenceOf implements healthcode.ReadTx.
func (tx *Tx) EvidenceOf(ctx context.Context, subjects []string) (map[string][]healthcode.Evidence, error) {
	out := make(map[string][]healthcode.Evidence, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	list, err := jsonList(subjects)
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE subject IN (SELECT value FROM json_each(?)) ORDER BY subject, observed_at, id`, list)
	if err != nil {
		return nil, fmt.Errorf("sqlite.EvidenceOf: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite.EvidenceOf: %w", err)
		}
		out[e.Subject] = append(out[e.Subject], *e)
	}
	return out, rows.Err()
}

// EvidenceByExternalID implements healthcode.ReadTx.
func (tx *Tx) EvidenceByExternalID(ctx context.Context, submitter, externalID string) (*healthcode.Evidence, error) {
	e, err := scanEvidence(tx.queryRow(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE submitter = ? AND external_id = ?`, submitter, externalID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "evidence.unknown", "no evidence %q from %q", externalID, submitter)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite.EvidenceByExternalID: %w", err)
	}
	return e, nil
}

// evidenceBatch is the most rows one multi-row INSERT of evidence writes.
const evidenceBatch = 64

// InsertEvidence implements healthcode.Tx.
func (tx *Tx) InsertEvidence(ctx context.Context, evs []*healthcode.Evidence) ([]bool, error) {
	inserted := make([]bool, len(evs))
	for start := 0; start < len(evs); {
		n := chunkSize(len(evs)-start, evidenceBatch)
		if err := tx.insertEvidence(ctx, evs[start:start+n], inserted[start:start+n]); err != nil {
			return nil, err
		}
		start += n
	}
	return inserted, nil
}

// insertEvidence writes evs with one statement, skipping those already
// filed, and marks which were written.
func (tx *Tx) insertEvidence(ctx context.Context, evs []*healthcode.Evidence, inserted []bool) error {
	args := make([]any, 0, 20*len(evs))
	for _, e := range evs {
		var until int64
		if !e.Until.IsZero() {
			until = nanos(e.Until)
		}
		args = append(args, e.Kind, e.Subject, e.Submitter, e.SubmitterName, e.SubmitterRole, e.ExternalID, nanos(e.ObservedAt), nanos(e.RecordedAt),
			e.Result, e.Pooled, e.PoolID, e.Diagnosis, e.CaseRef, e.RiskLevel, e.Area, e.Dose, e.Venue, e.Verified, until, int64(e.Every))
	}
	rows, err := tx.query(ctx, multiInsert(`INSERT INTO evidence (kind, subject, submitter, submitter_name, submitter_role, external_id,
		observed_at, recorded_at, result, pooled, pool_id, diagnosis, case_ref, risk_level, area, dose, venue, verified, duty_until, duty_every) VALUES `,
		"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", len(evs))+
		` ON CONFLICT (submitter, external_id) DO NOTHING RETURNING id, submitter, external_id`, args...)
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "evidence names an unknown person")
	} else if err != nil {
		return fmt.Errorf("sqlite.InsertEvidence: %w", err)
	}
	type key struct{ submitter, externalID string }
	ids := make(map[key]int64, len(evs))
	for rows.Next() {
		var k key
		var id int64
		if err := rows.Scan(&id, &k.submitter, &k.externalID); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite.InsertEvidence: %w", err)
		}
		ids[k] = id
	}
	err = rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "evidence names an unknown person")
	} else if err != nil {
		return fmt.Errorf("sqlite.InsertEvidence: %w", err)
	}
	// A key inserted once in this statement belongs to its first row.
	for i, e := range evs {
		k := key{e.Submitter, e.ExternalID}
		if id, ok := ids[k]; ok {
			e.ID, inserted[i] = id, true
			delete(ids, k)
		}
	}
	return nil
}

const decisionCols = `id, subject, colour, reason, rule_id, ruleset_version, ruleset_hash, evidence_ids, evidence_digest,
	lifts_at, review_at, decided_at, log_index, actor`

func scanDecision(row interface{ Scan(...any) error }) (*healthcode.Decision, error) {
	var d healthcode.Decision
	var ids string
	var lifts sql.NullInt64
	var review, decided int64
	if err := row.Scan(&d.ID, &d.Subject, &d.Colour, &d.Reason, &d.RuleID, &d.RuleSetVersion, &d.RuleSetHash, &ids, &d.EvidenceDigest,
		&lifts, &review, &decided, &d.LogIndex, &d.Actor); err != nil {
		return nil, err
	}
	if lifts.Valid {
		t := fromNanos(lifts.Int64)
		d.LiftsAt = &t
	}
	d.ReviewAt, d.DecidedAt = fromNanos(review), fromNanos(decided)
	var err error
	d.EvidenceIDs, err = parseIDs(ids)
	return &d, err
}

func formatIDs(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

func parseIDs(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]int64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sqlite: bad evidence id list %q", s)
		}
		out[i] = n
	}
	return out, nil
}

// Decision implements healthcode.ReadTx.
func (tx *Tx) Decision(ctx context.Context, subject string) (*healthcode.Decision, error) {
	d, err := scanDecision(tx.queryRow(ctx, `SELECT `+decisionCols+` FROM decisions
		WHERE id = (SELECT decision_id FROM current_codes WHERE subject = ?)`, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "decision.none", "no decision for %q", subject)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite.Decision: %w", err)
	}
	return d, nil
}

// DecisionsOf implements healthcode.ReadTx.
func (tx *Tx) DecisionsOf(ctx context.Context, subjects []string) (map[string]*healthcode.Decision, error) {
	out := make(map[string]*healthcode.Decision, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	list, err := jsonList(subjects)
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, `SELECT `+decisionCols+` FROM decisions WHERE id IN
		(SELECT decision_id FROM current_codes WHERE subject IN (SELECT value FROM json_each(?)))`, list)
	if err != nil {
		return nil, fmt.Errorf("sqlite.DecisionsOf: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite.DecisionsOf: %w", err)
		}
		out[d.Subject] = d
	}
	return out, rows.Err()
}

// Decisions implements healthcode.ReadTx.
func (tx *Tx) Decisions(ctx context.Context, subject string) ([]healthcode.Decision, error) {
	rows, err := tx.query(ctx, `SELECT `+decisionCols+` FROM decisions WHERE subject = ? ORDER BY id`, subject)
	if err != nil {
		return nil, fmt.Errorf("sqlite.Decisions: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite.Decisions: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// PutDecision implements healthcode.Tx.
func (tx *Tx) PutDecision(ctx context.Context, d *healthcode.Decision) error {
	var lifts any
	if d.LiftsAt != nil {
		lifts = nanos(*d.LiftsAt)
	}
	res, err := tx.exec(ctx, `INSERT INTO decisions (`+decisionCols+`) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Subject, d.Colour, d.Reason, d.RuleID, d.RuleSetVersion, d.RuleSetHash, formatIDs(d.EvidenceIDs), d.EvidenceDigest,
		lifts, nanos(d.ReviewAt), nanos(d.DecidedAt), d.LogIndex, d.Actor)
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", d.Subject)
	} else if err != nil {
		return fmt.Errorf("sqlite.PutDecision: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	d.ID = id
	_, err = tx.exec(ctx, `INSERT INTO current_codes (subject, decision_id, colour, review_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (subject) DO UPDATE SET decision_id = excluded.decision_id, colour = excluded.colour, review_at = excluded.review_at`,
		d.Subject, id, d.Colour, nanos(d.ReviewAt))
	if err != nil {
		return fmt.Errorf("sqlite.PutDecision: current: %w", err)
	}
	return nil
}

// DecisionRows implements healthcode.ReadTx.
func (tx *Tx) DecisionRows(ctx context.Context, after int64, limit int) ([]healthcode.Decision, error) {
	rows, err := tx.query(ctx, `SELECT `+decisionCols+` FROM decisions WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite.DecisionRows: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite.DecisionRows: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// StaleCurrentCodes implements healthcode.ReadTx.
func (tx *Tx) StaleCurrentCodes(ctx context.Context, limit int) ([]string, error) {
	out, err := tx.queryStrings(ctx, `SELECT c.subject FROM current_codes c LEFT JOIN decisions d ON d.id = c.decision_id
		WHERE d.id IS NULL OR d.subject != c.subject OR d.colour != c.colour
		   OR d.id != (SELECT max(id) FROM decisions WHERE subject = c.subject)
		UNION
		SELECT DISTINCT subject FROM decisions WHERE subject NOT IN (SELECT subject FROM current_codes)
		LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite.StaleCurrentCodes: %w", err)
	}
	return out, nil
}

// SetReviewAt implements healthcode.Tx.
func (tx *Tx) SetReviewAt(ctx context.Context, subject string, t time.Time) error {
	var err error
	if subject == "" {
		_, err = tx.exec(ctx, `UPDATE current_codes SET review_at = ?`, nanos(t))
	} else {
		_, err = tx.exec(ctx, `UPDATE current_codes SET review_at = ? WHERE subject = ?`, nanos(t), subject)
	}
	if err != nil {
		return fmt.Errorf("sqlite.SetReviewAt: %w", err)
	}
	return nil
}

// DueForReview implements healthcode.ReadTx.
func (tx *Tx) DueForReview(ctx context.Context, t time.Time, limit int) ([]string, error) {
	out, err := tx.queryStrings(ctx, `SELECT subject FROM current_codes WHERE review_at <= ? ORDER BY review_at, subject LIMIT ?`, nanos(t), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite.DueForReview: %w", err)
	}
	return out, nil
}

// ColourCounts implements healthcode.ReadTx.
func (tx *Tx) ColourCounts(ctx context.Context) (map[healthcode.Colour]int64, error) {
	rows, err := tx.query(ctx, `SELECT colour, count(*) FROM current_codes GROUP BY colour`)
	if err != nil {
		return nil, fmt.Errorf("sqlite.ColourCounts: %w", err)
	}
	defer rows.Close()
	out := map[healthcode.Colour]int64{}
	for rows.Next() {
		var c healthcode.Colour
		var n int64
		if err := rows.Scan(&c, &n); err != nil {
			return nil, err
		}
		out[c] = n
	}
	return out, rows.Err()
}

func scanRuleSet(row interface{ Scan(...any) error }) (*healthcode.RuleSetRecord, error) {
	var r healthcode.RuleSetRecord
	var published int64
	if err := row.Scan(&r.Version, &r.Hash, &r.Source, &published, &r.PublishedBy); err != nil {
		return nil, err
	}
	r.PublishedAt = fromNanos(published)
	return &r, nil
}

// ActiveRuleSet implements healthcode.ReadTx.
func (tx *Tx) ActiveRuleSet(ctx context.Context) (*healthcode.RuleSetRecord, error) {
	r, err := scanRuleSet(tx.queryRow(ctx, `SELECT version, hash, source, published_at, published_by FROM rulesets WHERE active = 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "ruleset.none", "no rule set is in force")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite.ActiveRuleSet: %w", err)
	}
	return r, nil
}

// RuleSet implements healthcode.ReadTx.
func (tx *Tx) RuleSet(ctx context.Context, version string) (*healthcode.RuleSetRecord, error) {
	r, err := scanRuleSet(tx.queryRow(ctx, `SELECT version, hash, source, published_at, published_by FROM rulesets WHERE version = ?`, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "ruleset.unknown", "no rule set %q", version)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite.RuleSet: %w", err)
	}
	return r, nil
}

// PutRuleSet implements healthcode.Tx.
func (tx *Tx) PutRuleSet(ctx context.Context, r *healthcode.RuleSetRecord, activate bool) error {
	if activate {
		if _, err := tx.exec(ctx, `UPDATE rulesets SET active = 0 WHERE active = 1`); err != nil {
			return fmt.Errorf("sqlite.PutRuleSet: %w", err)
		}
	}
	_, err := tx.exec(ctx, `INSERT INTO rulesets (version, hash, source, published_at, published_by, active) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Version, r.Hash, r.Source, nanos(r.PublishedAt), r.PublishedBy, activate)
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "ruleset.exists", "rule set version %q already published", r.Version)
	} else if err != nil {
		return fmt.Errorf("sqlite.PutRuleSet: %w", err)
	}
	return nil
}
