package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"healthcode"
	"healthcode/postgres"
	"healthcode/sqlite"

	"github.com/google/renameio/v2"
)

// nodeStore is what a node needs of its database, on either backend:
// --db postgres://… (or HEALTHCODE_DB) selects PostgreSQL, anything else is
// the SQLite file it names.
type nodeStore interface {
	healthcode.Store
	healthcode.Compacter
	// WriteProblem says why writes fail now (a full disk, an unreachable
	// or read-only database), for /healthz.
	WriteProblem() error
	// Exec runs raw SQL: tests and tamper drills only.
	Exec(ctx context.Context, query string, args ...any) error
}

var (
	_ nodeStore = (*sqlite.DB)(nil)
	_ nodeStore = (*postgres.DB)(nil)
)

// isPostgres reports whether db names a PostgreSQL database.
func isPostgres(db string) bool { return postgres.IsURL(db) }

// openStore opens (creating and migrating) the node's database.
func openStore(ctx context.Context, db string) (nodeStore, error) {
	if isPostgres(db) {
		return postgres.Open(ctx, db)
	}
	return sqlite.Open(ctx, db)
}

// openStoreReadOnly opens a node's database for an audit that changes
// nothing.
func openStoreReadOnly(ctx context.Context, db string) (healthcode.Store, error) {
	if isPostgres(db) {
		return postgres.OpenReadOnly(ctx, db)
	}
	return sqlite.OpenReadOnly(ctx, db)
}

// storeExists reports whether db holds a node: the SQLite file exists, or
// the PostgreSQL database has the node's tables.
func storeExists(ctx context.Context, db string) (bool, error) {
	if isPostgres(db) {
		return postgres.HasNode(ctx, db)
	}
	_, err := os.Stat(db)
	if os.IsNotExist(err) {
		return false, nil
	}
	return err == nil, err
}

// displayDB is db as it may be printed and logged: a PostgreSQL URL without
// its password.
func displayDB(db string) string {
	if !isPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// requirePostgresNode is requireNode for a PostgreSQL database.
func requirePostgresNode(cfg Config) error {
	ok, err := postgres.HasNode(context.Background(), cfg.DB)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no node here: the database %s holds no node; create one with healthcode admin init --db URL (or serve --db URL)", displayDB(cfg.DB))
	}
	return nil
}

// storeSize is the size of the node's database: its SQLite file and WAL,
// or its PostgreSQL database (0 if it cannot be read).
func storeSize(ctx context.Context, db string) int64 {
	if !isPostgres(db) {
		return fileSizes(db)
	}
	n, err := postgres.Size(ctx, db)
	if err != nil {
		return 0
	}
	return n
}

// databaseFile, in a node's data directory, names the PostgreSQL database
// that holds the node (a node on SQLite has none): written when a node is
// opened on one, read when no --db is given, so that every command run on
// the data directory (admin, rules, import, purge, sunset, serve) finds the
// node's database as it finds its keys. It holds the URL as given, password
// included: readable by the node's user only, like the keys beside it.
const databaseFile = "database"

// defaultDB is the database of the node in dataDir: the one databaseFile
// names, or the SQLite file.
func defaultDB(dataDir string) string {
	if b, err := os.ReadFile(filepath.Join(dataDir, databaseFile)); err == nil {
		if u := strings.TrimSpace(string(b)); isPostgres(u) {
			return u
		}
	}
	return filepath.Join(dataDir, "healthcode.db")
}

// noteDatabase records in dataDir the PostgreSQL database the node is
// opened on.
func noteDatabase(dataDir, db string) error {
	if !isPostgres(db) {
		return nil
	}
	p := filepath.Join(dataDir, databaseFile)
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == db {
		return nil
	}
	return renameio.WriteFile(p, []byte(db+"\n"), 0o600)
}
