package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestPageCachesBounded: the readers' page caches are 16 MiB each and the
// writers' 64 MiB, so a node's SQLite memory is bounded (2×64 + 4×16 MiB
// here) whatever the size of its city.
func TestPageCachesBounded(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var r, w int64
	if err := db.read.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&r); err != nil {
		t.Fatal(err)
	}
	if err := db.write.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&w); err != nil {
		t.Fatal(err)
	}
	if r != -16384 || w != -65536 {
		t.Errorf("page caches: readers %d, writers %d; want -16384 (16 MiB) and -65536 (64 MiB)", r, w)
	}
}
