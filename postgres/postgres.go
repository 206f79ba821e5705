// Package postgres stores a healthcode node in a PostgreSQL database. It
// implements healthcode.Store with github.com/jackc/pgx/v5: a pool of
// connections (pgxpool), every statement prepared once per connection and
// reused (pgx's statement cache), batches written with one statement over
// arrays (unnest) and the largest ones with COPY.
//
// Like the SQLite backend, it never decides a colour or builds a log leaf: it
// keeps what the engine hands it, in the transaction the engine opens. The two
// backends share nothing but the domain interfaces and storetest/.
//
// # Transactions
//
// A write transaction runs at READ COMMITTED. Every write the engine makes
// begins by reading the log's size (Tx.LogSize), which in a write
// transaction locks the single row of log_head (SELECT … FOR UPDATE) until
// commit: writers that log take turns, as they do on SQLite, so the indexes
// they reserve are the ones they append at, and every statement after the
// lock sees everything committed before it. A transaction that fails on a
// serialization failure or a deadlock (SQLSTATE 40001, 40P01) is rolled back
// and run again, a few times, inside Update.
//
// # Unavailability
//
// A database that cannot be reached, is shutting down, or has become a
// read-only standby (a failover in progress: SQLSTATE 08xxx, 57P01-57P03,
// 25006, connection refused or reset) is not the caller's fault: the request
// is answered EUNAVAILABLE "store.unavailable" with a Retry-After, nothing of
// it is committed, and WriteProblem says so until a write commits again.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"healthcode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a healthcode store on PostgreSQL.
type DB struct {
	pool     *pgxpool.Pool
	readOnly bool
	// fault is the last write's failure to reach a writable database
	// (unavailable.go), until a write commits.
	fault atomic.Pointer[fault]
	// parts are the check-in partitions known to exist (partitions.go).
	partsMu sync.Mutex
	parts   map[int64]bool
}

var _ healthcode.Store = (*DB)(nil)

// IsURL reports whether s names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than a SQLite file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at url (a postgres:// URL; a multi-host URL
// with target_session_attrs=read-write follows the primary through a
// failover) and applies the embedded migrations.
func Open(ctx context.Context, url string) (*DB, error) {
	db, err := connect(ctx, url, false)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.pool.Close()
		return nil, err
	}
	if err := db.ensurePartitions(ctx, time.Now()); err != nil {
		db.pool.Close()
		return nil, err
	}
	return db, nil
}

// OpenReadOnly connects for an audit: no migration runs and every
// transaction is read-only, so the audit changes nothing. Update fails.
func OpenReadOnly(ctx context.Context, url string) (*DB, error) {
	db, err := connect(ctx, url, true)
	if err != nil {
		return nil, err
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'`).Scan(&n); err != nil {
		db.pool.Close()
		return nil, classify(ctx, fmt.Errorf("postgres.OpenReadOnly: %w", err))
	}
	if n == 0 {
		db.pool.Close()
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "postgres.no_schema", "the database holds no healthcode node")
	}
	return db, nil
}

func connect(ctx context.Context, url string, readOnly bool) (*DB, error) {
	if !IsURL(url) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "postgres.url", "a PostgreSQL database is named by a postgres:// URL")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "postgres.url", "bad PostgreSQL URL: %s", redact(err))
	}
	if readOnly {
		// Set once connected, not as a startup parameter: a multi-host
		// URL's target_session_attrs=read-write checks
		// transaction_read_only and would then refuse every host.
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, "SET default_transaction_read_only = on")
			return err
		}
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "healthcode"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres.Open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, classify(ctx, fmt.Errorf("postgres.Open: %w", err))
	}
	return &DB{pool: pool, readOnly: readOnly, parts: map[int64]bool{}}, nil
}

// redact keeps a password out of an error about a URL.
func redact(err error) string {
	s := err.Error()
	if i := strings.Index(s, "postgres"); i >= 0 {
		return "cannot parse the connection string"
	}
	return s
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Pool returns the connection pool: for tests and tamper drills only.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Exec runs raw SQL outside any transaction: for tests and tamper drills
// only.
func (db *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := db.pool.Exec(ctx, numbered(query), args...)
	return err
}

// Tables are the node's tables, in an order DROP … CASCADE accepts.
var tables = []string{"schema_migrations", "auth_epoch", "review_sweep", "log_head", "log_hashes", "log_leaves", "log_openings", "checkpoints",
	"submit_replays", "oversight_deliveries", "oversight_cursors", "oversight_review_officials", "oversight_reviews",
	"oversight_alert_officials", "oversight_alerts", "bulk_people", "unmask_requests", "pending_records", "cases",
	"collections", "tubes", "official_proposals", "sessions", "tokens", "officials", "units", "appeals",
	"override_subjects", "overrides", "access_records", "designations", "checkin_slots", "checkins", "venues",
	"ruleset_proposals", "rulesets", "current_codes", "decisions", "evidence", "person_keys", "people"}

// HasNode reports whether the database holds a node (its migrations ran).
func HasNode(ctx context.Context, url string) (bool, error) {
	db, err := connect(ctx, url, true)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var n int
	err = db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY($1)`, tables).Scan(&n)
	return n > 0, err
}

// Drop deletes every table of a node from the database at url (the demo's
// --fresh): everything the node kept is gone.
func Drop(ctx context.Context, url string) error {
	db, err := connect(ctx, url, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.pool.Exec(ctx, `DROP TABLE IF EXISTS `+strings.Join(tables, ", ")+` CASCADE`); err != nil {
		return fmt.Errorf("postgres.Drop: %w", err)
	}
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		// Two nodes creating it at once: one of them loses the race on the
		// catalog, and finds the table there.
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23505" && pe.Code != "42P07" {
			return classify(ctx, fmt.Errorf("postgres.migrate: %w", err))
		}
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateOne(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// migrateOne applies one migration unless it has been: the table lock makes
// two processes migrating at once take turns.
func (db *DB) migrateOne(ctx context.Context, name string) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return classify(ctx, fmt.Errorf("postgres.migrate: %w", err))
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `LOCK TABLE schema_migrations IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("postgres.migrate: %w", err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE name = $1`, name).Scan(&n); err != nil {
		return fmt.Errorf("postgres.migrate: %w", err)
	}
	if n > 0 {
		return nil
	}
	body, _ := migrationFS.ReadFile(name)
	if _, err := tx.Exec(ctx, string(body)); err != nil {
		return fmt.Errorf("postgres.migrate %s: %w", name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, time.Now().Unix()); err != nil {
		return fmt.Errorf("postgres.migrate: %w", err)
	}
	return tx.Commit(ctx)
}

// updateTries bounds how often Update runs a transaction that fails on a
// serialization failure or deadlock.
const updateTries = 8

// Update runs fn in one READ COMMITTED transaction and commits if fn returns
// nil; a serialization failure or deadlock runs it again.
func (db *DB) Update(ctx context.Context, fn func(healthcode.Tx) error) error {
	if db.readOnly {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "postgres.read_only", "the database is open for reading only")
	}
	for try := 1; ; try++ {
		err := db.update(ctx, fn)
		if try < updateTries && retryable(err) && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(try*try) * time.Millisecond):
			}
			continue
		}
		return db.noteWrite(ctx, err)
	}
}

func (db *DB) update(ctx context.Context, fn func(healthcode.Tx) error) error {
	pgtx, err := db.begin(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres.Update: begin: %w", err)
	}
	// Rolled back whatever way fn ends (an error, a panic); after a commit
	// it does nothing.
	defer pgtx.Rollback(context.Background())
	tx := &Tx{db: db, tx: pgtx, write: true, nextLeaf: -1}
	if err := fn(tx); err != nil {
		return err
	}
	if err := pgtx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres.Update: commit: %w", err)
	}
	db.notePartitions(tx.newParts)
	return nil
}

// begin starts a transaction, trying again on a pooled connection that
// turns out to be dead (nothing was sent on it: safe to retry).
func (db *DB) begin(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	for try := 0; ; try++ {
		tx, err := db.pool.BeginTx(ctx, opts)
		if err == nil || try == 2 || !pgconn.SafeToRetry(err) || ctx.Err() != nil {
			return tx, err
		}
	}
}

// View runs fn in one read-only REPEATABLE READ transaction: a consistent
// snapshot.
func (db *DB) View(ctx context.Context, fn func(healthcode.ReadTx) error) error {
	pgtx, err := db.begin(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return classify(ctx, fmt.Errorf("postgres.View: begin: %w", err))
	}
	defer pgtx.Rollback(context.Background())
	return classify(ctx, fn(&Tx{db: db, tx: pgtx, nextLeaf: -1}))
}

// Tx is a transaction; it implements healthcode.Tx.
type Tx struct {
	db    *DB
	tx    pgx.Tx
	write bool
	// nextLeaf is the index the next log leaf must have, once known in
	// this transaction (-1 before).
	nextLeaf int64
	// newParts are the check-in partitions this transaction created.
	newParts []int64
}

// result is what an exec changed.
type result struct{ n int64 }

func (r result) RowsAffected() (int64, error) { return r.n, nil }

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (result, error) {
	tag, err := tx.tx.Exec(ctx, numbered(query), args...)
	return result{tag.RowsAffected()}, err
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	return tx.tx.Query(ctx, numbered(query), args...)
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) pgx.Row {
	return tx.tx.QueryRow(ctx, numbered(query), args...)
}

// numberedCache holds each query's text with numbered placeholders.
var numberedCache sync.Map

// numbered rewrites the ? placeholders of query (and ?N, numbered ones) as
// PostgreSQL's $N, outside quoted strings. Queries are written with ?, one
// per argument in order; the rewriting is done once per query text.
func numbered(query string) string {
	if q, ok := numberedCache.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	quoted := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(query[i+1 : j])
				i = j - 1
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
		default:
			b.WriteByte(c)
		}
	}
	numberedCache.Store(query, b.String())
	return b.String()
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUnique(err error) bool { return pgCode(err) == "23505" }

func isForeignKey(err error) bool { return pgCode(err) == "23503" }

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// retryable reports whether a transaction failed only because it ran
// concurrently with another: running it again may succeed.
func retryable(err error) bool {
	var re *retryErr
	if errors.As(err, &re) {
		return true
	}
	switch pgCode(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// Migrations are the embedded schema migrations, for tests that build a
// template database from them.
var Migrations fs.FS = migrationFS

// A statement that fails inside a PostgreSQL transaction aborts the whole
// transaction; on SQLite only the statement fails. The Store's contract is
// SQLite's: a method that answers ECONFLICT or ENOTFOUND leaves the
// transaction usable (storetest checks it). So the statements whose
// constraint violations are such answers run in a savepoint, sent with the
// statement in one round trip (a pipeline), and rolled back to on failure.
// The hot paths (people, evidence, check-ins) avoid the violation instead
// (ON CONFLICT DO NOTHING, EXISTS), so that a transaction of thousands of
// them takes no savepoint at all.

// gexec runs an exec in a savepoint.
func (tx *Tx) gexec(ctx context.Context, query string, args ...any) (result, error) {
	var tag pgconn.CommandTag
	err := tx.guard(ctx, func(b *pgx.Batch) {
		b.Queue(numbered(query), args...).Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	})
	return result{tag.RowsAffected()}, err
}

// guardedRow is the row of gqueryRow: the statement runs when it is scanned.
type guardedRow struct {
	tx    *Tx
	ctx   context.Context
	query string
	args  []any
}

func (r guardedRow) Scan(dest ...any) error {
	return r.tx.guard(r.ctx, func(b *pgx.Batch) {
		b.Queue(r.query, r.args...).QueryRow(func(row pgx.Row) error { return row.Scan(dest...) })
	})
}

// gqueryRow runs a one-row query in a savepoint.
func (tx *Tx) gqueryRow(ctx context.Context, query string, args ...any) guardedRow {
	return guardedRow{tx: tx, ctx: ctx, query: numbered(query), args: args}
}

func (tx *Tx) guard(ctx context.Context, queue func(*pgx.Batch)) error {
	b := &pgx.Batch{}
	b.Queue(`SAVEPOINT hc_statement`)
	queue(b)
	b.Queue(`RELEASE SAVEPOINT hc_statement`)
	err := tx.tx.SendBatch(ctx, b).Close()
	if err == nil || unavailable(err) || ctx.Err() != nil {
		return err
	}
	if _, rerr := tx.tx.Exec(ctx, `ROLLBACK TO SAVEPOINT hc_statement`); rerr != nil {
		return errors.Join(err, rerr)
	}
	if _, rerr := tx.tx.Exec(ctx, `RELEASE SAVEPOINT hc_statement`); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// Size returns the size on disk of the database at url.
func Size(ctx context.Context, url string) (int64, error) {
	db, err := connect(ctx, url, true)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}
