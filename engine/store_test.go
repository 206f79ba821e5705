package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"healthcode"
	"healthcode/postgres/pgtest"
	"healthcode/sqlite"
)

// testStore is the store an env runs on.
type testStore interface {
	healthcode.Store
	Exec(ctx context.Context, query string, args ...any) error
}

// openTestStore opens a fresh store for one test: a SQLite file, or, with
// HEALTHCODE_TEST_STORE=postgres, a fresh PostgreSQL database (pgtest), so
// that the engine's tests can be run on either backend.
func openTestStore(t *testing.T) testStore {
	t.Helper()
	if os.Getenv("HEALTHCODE_TEST_STORE") == "postgres" {
		return pgtest.Open(t)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
