package tlog

import (
	"context"
	"errors"
	"testing"

	"healthcode"

	"golang.org/x/mod/sumdb/tlog"
)

// memTx is a hand-written store transaction holding just the log: leaves,
// one row of stored hashes per leaf, and subject openings.
type memTx struct {
	healthcode.Tx // not implemented; calling anything else panics
	rows          [][][32]byte
	leaves        [][]byte
	openings      map[int64][2]string
	reads         int
	failAt        int64 // AppendLeaves fails at this index (-1: never)
}

func (tx *memTx) LogHashes(ctx context.Context, indexes []int64) ([][32]byte, error) {
	tx.reads++
	out := make([][32]byte, len(indexes))
	for k, i := range indexes {
		leaf, off := LeafOfStorageIndex(i)
		if leaf < 0 || leaf >= int64(len(tx.rows)) || off >= len(tx.rows[leaf]) {
			return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.hash_missing", "no stored hash %d", i)
		}
		out[k] = tx.rows[leaf][off]
	}
	return out, nil
}

func (tx *memTx) AppendLeaves(ctx context.Context, rs []*healthcode.LogRecord) error {
	for _, r := range rs {
		if r.Index == tx.failAt {
			return errors.New("disk full")
		}
		if r.Index != int64(len(tx.rows)) {
			return healthcode.Errorfd(healthcode.ECONFLICT, "tlog.gap", "append at %d", r.Index)
		}
		tx.rows = append(tx.rows, r.Hashes)
		tx.leaves = append(tx.leaves, r.Leaf)
		if r.Subject != "" || r.Opening != nil {
			tx.openings[r.Index] = [2]string{r.Subject, string(r.Opening)}
		}
	}
	return nil
}

func (tx *memTx) leaf(i int64) ([]byte, error) {
	if i >= int64(len(tx.leaves)) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.leaf_missing", "no leaf %d", i)
	}
	return tx.leaves[i], nil
}

func batch(from, n int) []*healthcode.LogEntry {
	var es []*healthcode.LogEntry
	for i := from; i < from+n; i++ {
		e := decisionEntry(i)
		e.Index = int64(i)
		es = append(es, e)
	}
	return es
}

func TestLogAppend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := &memTx{openings: map[int64][2]string{}, failAt: -1}
	base := tx
	var l Log
	for _, b := range [][2]int{{0, 1}, {1, 100}, {101, 37}} {
		base.reads = 0
		if err := l.Append(ctx, tx, batch(b[0], b[1])); err != nil {
			t.Fatal(err)
		}
		if base.reads > 1 {
			t.Errorf("a batch of %d read the store %d times", b[1], base.reads)
		}
	}
	r := StoreHashReader(ctx, base)
	if err := VerifyTree(138, base.leaf, r, nil); err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 138; i++ {
		leaf, _ := DecodeLeaf(base.leaves[i])
		o := base.openings[i]
		if _, err := leaf.Open(o[0], []byte(o[1])); err != nil || o[0] != pseudonym(int(i)) {
			t.Fatalf("opening of leaf %d: %v", i, err)
		}
	}
	// The appender loaded from the store agrees with the store's root.
	a, err := NewAppender(138, r)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Root(); got != mustTreeHash(t, 138, r) {
		t.Error("appender root differs from the store's")
	}

	// A failed append is an error the caller's transaction rolls back on.
	base.failAt = 140
	if err := l.Append(ctx, tx, batch(138, 5)); err == nil || healthcode.ErrorCode(err) != healthcode.EINTERNAL {
		t.Fatalf("failed append: %v", err)
	}
	base.failAt = -1
	// Entries at an index the store already has, out of order, invalid.
	wantErr(t, l.Append(ctx, tx, batch(0, 1)), healthcode.ECONFLICT, "tlog.gap")
	skip := batch(base.rowsLen(), 2)
	skip[1].Index++
	wantErr(t, l.Append(ctx, tx, skip), healthcode.EINVALID, "tlog.index")
	bad := batch(base.rowsLen(), 1)
	bad[0].ActorName = ""
	wantErr(t, l.Append(ctx, tx, bad), healthcode.EINVALID, "tlog.leaf_actor")
	if err := l.Append(ctx, tx, nil); err != nil {
		t.Error(err)
	}
}

func (tx *memTx) rowsLen() int { return len(tx.rows) }

func mustTreeHash(t *testing.T, n int64, r tlog.HashReader) tlog.Hash {
	t.Helper()
	h, err := tlog.TreeHash(n, r)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
