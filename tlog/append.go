package tlog

import (
	"context"
	"fmt"
	"math/bits"

	"healthcode"

	"golang.org/x/mod/sumdb/tlog"
)

// StoredHashesForLeaf returns the stored hashes that appending leaf as leaf
// number n creates, in storage order: they belong at storage indexes
// tlog.StoredHashIndex(0, n) onwards, contiguously, so one row per leaf can
// hold them. It reads at most log₂ n earlier hashes from r.
func StoredHashesForLeaf(n int64, leaf []byte, r tlog.HashReader) ([]tlog.Hash, error) {
	if n < 0 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "negative leaf index %d", n)
	}
	hs, err := tlog.StoredHashes(n, leaf, r)
	if err != nil {
		return nil, fmt.Errorf("tlog.StoredHashesForLeaf(%d): %w", n, err)
	}
	return hs, nil
}

// LeafOfStorageIndex returns the leaf whose row holds stored hash i (in the
// numbering of golang.org/x/mod/sumdb/tlog) and the hash's offset in that
// row. i must not be negative; for a negative i it returns -1, 0.
func LeafOfStorageIndex(i int64) (leaf int64, offset int) {
	if i < 0 {
		return -1, 0
	}
	// The hash at (level, n) is completed by the last leaf below it, and is
	// the level'th hash that leaf's append creates.
	level, n := tlog.SplitStoredHashIndex(i)
	return (n+1)<<level - 1, level
}

// HashArrays converts hashes to the form healthcode.LogRecord holds.
func HashArrays(hs []tlog.Hash) [][32]byte {
	out := make([][32]byte, len(hs))
	for i, h := range hs {
		out[i] = h
	}
	return out
}

// StoreHashReader reads stored hashes through a store transaction.
func StoreHashReader(ctx context.Context, tx healthcode.ReadTx) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		hs, err := tx.LogHashes(ctx, indexes)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(hs))
		for i, h := range hs {
			out[i] = h
		}
		return out, nil
	})
}

// Appender keeps the right edge of the tree in memory — the root of each
// maximal complete subtree, at most 64 hashes — which is all that future
// appends and the current root need. A batch of appends therefore reads the
// store once (NewAppender), not once per leaf.
//
// An Appender is a plain value, about 2.5 KB. To use it inside a database
// transaction that may roll back, append to a Clone and keep the clone only
// once the transaction has committed; or rebuild with NewAppender after a
// failure. It is not safe for concurrent use.
type Appender struct {
	size int64
	// edge[l] is the hash of the complete subtree of height l on the right
	// edge, present when bit l of size is set; index[l] is its storage index.
	edge  [64]tlog.Hash
	index [64]int64
}

// NewAppender loads the right edge of the tree of the given size from r
// (one ReadHashes call).
func NewAppender(size int64, r tlog.HashReader) (*Appender, error) {
	if size < 0 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "negative log size %d", size)
	}
	a := &Appender{size: size}
	var levels []int
	var indexes []int64
	start := int64(0)
	for l := 62; l >= 0; l-- {
		if size&(1<<l) != 0 {
			levels = append(levels, l)
			a.index[l] = tlog.StoredHashIndex(l, start>>l)
			indexes = append(indexes, a.index[l])
			start += 1 << l
		}
	}
	if len(indexes) == 0 {
		return a, nil
	}
	hs, err := r.ReadHashes(indexes)
	if err != nil {
		return nil, fmt.Errorf("tlog.NewAppender(%d): %w", size, err)
	}
	if len(hs) != len(indexes) {
		return nil, fmt.Errorf("tlog.NewAppender(%d): read %d hashes, want %d", size, len(hs), len(indexes))
	}
	for i, l := range levels {
		a.edge[l] = hs[i]
	}
	return a, nil
}

// Size returns the number of leaves in the tree.
func (a *Appender) Size() int64 { return a.size }

// Clone returns an independent copy of a.
func (a *Appender) Clone() *Appender {
	c := *a
	return &c
}

// ReadHashes serves the hashes on the right edge, so that tlog's functions
// can read them; any other index is an error.
func (a *Appender) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for k, i := range indexes {
		found := false
		for l := 0; l < 63; l++ {
			if a.size&(1<<l) != 0 && a.index[l] == i {
				out[k], found = a.edge[l], true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("tlog.Appender: stored hash %d is not on the right edge of a tree of size %d", i, a.size)
		}
	}
	return out, nil
}

// Append adds leaf to the tree and returns its index and the stored hashes
// to write with it (in the leaf's row). It does not touch any store.
func (a *Appender) Append(leaf []byte) (index int64, hashes []tlog.Hash, err error) {
	if len(leaf) == 0 || len(leaf) > MaxLeafSize {
		return 0, nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_size", "a leaf must have 1 to %d bytes, not %d", MaxLeafSize, len(leaf))
	}
	n := a.size
	if n == 1<<62 {
		return 0, nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.full", "the log is full")
	}
	hashes, err = tlog.StoredHashes(n, leaf, a)
	if err != nil {
		return 0, nil, fmt.Errorf("tlog.Appender.Append: %w", err)
	}
	// Leaf n completes the subtrees of heights 0..m, m the number of
	// trailing one bits of n; the highest of them is the new edge node and
	// replaces the lower ones it contains.
	m := bits.TrailingZeros64(uint64(n + 1))
	a.size = n + 1
	a.edge[m] = hashes[m]
	a.index[m] = tlog.StoredHashIndex(m, n>>m)
	return n, hashes, nil
}

// Root returns the tree hash of the tree Appender has built so far.
func (a *Appender) Root() (tlog.Hash, error) {
	h, err := tlog.TreeHash(a.size, a)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("tlog.Appender.Root: %w", err)
	}
	return h, nil
}

// MemoryLog is a log held entirely in memory: leaves and stored hashes.
// Benchmarks, tests and auditors who rebuild a log from its tiles use it.
// It is not safe for concurrent use.
type MemoryLog struct {
	app    Appender
	hashes []tlog.Hash
	leaves [][]byte
}

// Append adds a leaf and returns its index.
func (m *MemoryLog) Append(leaf []byte) (int64, error) {
	i, hs, err := m.app.Append(leaf)
	if err != nil {
		return 0, err
	}
	m.hashes = append(m.hashes, hs...)
	m.leaves = append(m.leaves, leaf)
	return i, nil
}

// Size returns the number of leaves.
func (m *MemoryLog) Size() int64 { return m.app.size }

// Root returns the current tree hash.
func (m *MemoryLog) Root() (tlog.Hash, error) { return m.app.Root() }

// Leaf returns leaf i; ENOTFOUND if there is none.
func (m *MemoryLog) Leaf(i int64) ([]byte, error) {
	if i < 0 || i >= int64(len(m.leaves)) || m.leaves[i] == nil {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.leaf_missing", "no leaf %d in the log", i)
	}
	return m.leaves[i], nil
}

// ReadHashes implements tlog.HashReader; ENOTFOUND for an index beyond the
// tree.
func (m *MemoryLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for k, i := range indexes {
		if i < 0 || i >= int64(len(m.hashes)) {
			return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.hash_missing", "stored hash %d is beyond the tree", i)
		}
		out[k] = m.hashes[i]
	}
	return out, nil
}

// Clone returns an independent copy of m (leaf bytes are shared, never
// modified).
func (m *MemoryLog) Clone() *MemoryLog {
	return &MemoryLog{app: m.app, hashes: append([]tlog.Hash(nil), m.hashes...), leaves: append([][]byte(nil), m.leaves...)}
}
