package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"healthcode"
	"healthcode/sqlite"
	"healthcode/storetest"
)

func open(t *testing.T) healthcode.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hc.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.MustPerson(t, db, "孙八", "410102199001011239")
	db.Close()
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen (migrations must be idempotent): %v", err)
	}
	defer db.Close()
	err = db.View(ctx, func(tx healthcode.ReadTx) error {
		_, err := tx.Person(ctx, p.Pseudonym)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesEmptyPath(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), ""); healthcode.ErrorCode(err) != healthcode.EINVALID {
		t.Fatalf("Open(\"\") = %v, want EINVALID", err)
	}
}
