package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"healthcode"
)

// setMaxPages bounds the database file on both writer connections, as a
// full disk would (SQLite answers SQLITE_FULL at the bound).
func setMaxPages(t *testing.T, db *DB, pages int64) {
	t.Helper()
	ctx := context.Background()
	c1, err := db.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [](func() error){
		func() error {
			_, err := c1.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages))
			return err
		},
		func() error {
			_, err := c2.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages))
			return err
		},
	} {
		if err := c(); err != nil {
			t.Fatal(err)
		}
	}
	c1.Close()
	c2.Close()
}

// TestDiskFullIsUnavailableAndPasses: a write the disk refuses answers
// EUNAVAILABLE store.disk_full with a Retry-After, commits nothing, is
// reported by WriteProblem while reads go on, and once there is room again
// the next write commits and the report clears, on its own.
func TestDiskFullIsUnavailableAndPasses(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.write.ExecContext(ctx, "CREATE TABLE filler (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	var pages int64
	if err := db.write.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	setMaxPages(t, db, pages+64)
	fill := func() error {
		return db.Update(ctx, func(tx healthcode.Tx) error {
			_, err := tx.(*Tx).tx.ExecContext(ctx, "INSERT INTO filler VALUES (zeroblob(65536))")
			return err
		})
	}
	var werr error
	stored := 0
	for i := 0; i < 100 && werr == nil; i++ {
		if werr = fill(); werr == nil {
			stored++
		}
	}
	if healthcode.ErrorCode(werr) != healthcode.EUNAVAILABLE || healthcode.ErrorDetail(werr) != "store.disk_full" || healthcode.ErrorRetryAfter(werr) <= 0 {
		t.Fatalf("a write on a full disk: %v (code %q), want unavailable store.disk_full with a Retry-After", werr, healthcode.ErrorCode(werr))
	}
	if p := db.WriteProblem(); healthcode.ErrorDetail(p) != "store.disk_full" {
		t.Fatalf("WriteProblem after a refused write: %v", p)
	}
	var rows int
	if err := db.View(ctx, func(healthcode.ReadTx) error {
		return db.read.QueryRowContext(ctx, "SELECT count(*) FROM filler").Scan(&rows)
	}); err != nil {
		t.Fatalf("reads stop on a full disk: %v", err)
	}
	if rows != stored {
		t.Fatalf("%d rows stored, %d writes acknowledged: the refused one was half-written", rows, stored)
	}
	setMaxPages(t, db, 1<<30)
	if err := fill(); err != nil {
		t.Fatalf("a write with room again: %v", err)
	}
	if p := db.WriteProblem(); p != nil {
		t.Fatalf("WriteProblem after a write committed again: %v", p)
	}
}

// TestLowDiskIsReported: below LowDiskBytes free, WriteProblem reports it
// before any write has failed.
func TestLowDiskIsReported(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, ok := freeBytes(t.TempDir()); !ok {
		t.Skip("free space is not measured on this system")
	}
	if p := db.WriteProblem(); p != nil {
		t.Fatalf("WriteProblem on a disk with room: %v", p)
	}
	old := LowDiskBytes
	LowDiskBytes = 1 << 62
	defer func() { LowDiskBytes = old }()
	if p := db.WriteProblem(); healthcode.ErrorDetail(p) != "store.disk_low" {
		t.Fatalf("WriteProblem below the free-space bound: %v", p)
	}
}

// TestDiskFullRecoversWithoutAWrite: after the disk refused a write, once
// there is room again the report clears on its own, with no client write:
// the probe WriteProblem starts commits. Without the probe it would say
// "full" until some client happened to write.
func TestDiskFullRecoversWithoutAWrite(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := diskProbeEvery
	diskProbeEvery = 0
	defer func() { diskProbeEvery = old }()
	if _, err := db.write.ExecContext(ctx, "CREATE TABLE filler (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	var pages int64
	if err := db.write.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	setMaxPages(t, db, pages+64)
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		werr = db.Update(ctx, func(tx healthcode.Tx) error {
			_, err := tx.(*Tx).tx.ExecContext(ctx, "INSERT INTO filler VALUES (zeroblob(65536))")
			return err
		})
	}
	if healthcode.ErrorDetail(werr) != "store.disk_full" {
		t.Fatalf("a write on a full disk: %v", werr)
	}
	// Still full: the probe is refused too, and the report stays.
	for i := 0; i < 20; i++ {
		if p := db.WriteProblem(); healthcode.ErrorDetail(p) != "store.disk_full" {
			t.Fatalf("WriteProblem while the disk is still full: %v", p)
		}
		for db.probing.Load() {
			time.Sleep(time.Millisecond)
		}
	}
	setMaxPages(t, db, 1<<30)
	for i := 0; ; i++ {
		p := db.WriteProblem()
		if p == nil {
			break
		}
		if i == 5000 {
			t.Fatalf("WriteProblem with room again and no client write: %v", p)
		}
		time.Sleep(time.Millisecond)
	}
}
