package tlog

import (
	"fmt"
	"math/bits"

	"healthcode"

	"golang.org/x/mod/sumdb/tlog"
)

// verifyBatch is how many leaves VerifyTree reads at a time.
const verifyBatch = 1024

// VerifyTree is the auditor's full check of a log of size leaves: it reads
// every leaf with leafAt, checks that it is a well-formed leaf, recomputes
// every stored hash from the leaves alone and compares each with the store's
// (r), and compares the recomputed root at cp.Size with the checkpoint (if
// cp is not nil). It stops at the first discrepancy and names it: ETAMPERED
// with detail
//
//	tlog.leaf_missing   leaf i cannot be read (deleted)
//	tlog.leaf_malformed leaf i is not a valid leaf
//	tlog.leaf_mismatch  leaf i does not hash to the stored leaf hash
//	tlog.hash_mismatch  an interior stored hash differs (its index, level and leaf)
//	tlog.hash_missing   stored hashes are missing
//	tlog.truncated      the log is shorter than the checkpoint
//	tlog.root_mismatch  the recomputed root differs from the checkpoint's
//
// Any other error from leafAt or r is returned wrapped.
func VerifyTree(size int64, leafAt func(i int64) ([]byte, error), r tlog.HashReader, cp *Checkpoint) error {
	records := func(lo, hi int64) ([]healthcode.LogRecord, error) {
		out := make([]healthcode.LogRecord, hi-lo)
		first := tlog.StoredHashIndex(0, lo)
		// Leaf rows are contiguous: leaves lo..hi-1 hold exactly these.
		indexes := make([]int64, 0, tlog.StoredHashIndex(0, hi)-first)
		for i, end := first, tlog.StoredHashIndex(0, hi); i < end; i++ {
			indexes = append(indexes, i)
		}
		stored, err := r.ReadHashes(indexes)
		if err != nil {
			return nil, readErr(fmt.Sprintf("tlog.VerifyTree: leaves %d to %d", lo, hi-1), err)
		}
		if len(stored) != len(indexes) {
			return nil, fmt.Errorf("tlog.VerifyTree: read %d hashes, want %d", len(stored), len(indexes))
		}
		for i := lo; i < hi; i++ {
			rec := &out[i-lo]
			rec.Index = i
			at, n := tlog.StoredHashIndex(0, i)-first, hashesOfLeaf(i)
			rec.Hashes = HashArrays(stored[at : at+int64(n)])
			b, err := leafAt(i)
			if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
				continue
			} else if err != nil {
				return nil, err
			}
			rec.Leaf = b
		}
		return out, nil
	}
	return verifyTree(size, records, cp, nil)
}

// hashesOfLeaf is how many stored hashes appending leaf n creates: one, and
// one more for each trailing one bit of n.
func hashesOfLeaf(n int64) int {
	return 1 + bits.TrailingZeros64(^uint64(n))
}

// verifyTree is VerifyTree reading records (leaf, stored hashes, opening)
// in batches of leaves lo..hi-1, and showing each leaf, decoded, with its
// record to visit, if not nil.
func verifyTree(size int64, records func(lo, hi int64) ([]healthcode.LogRecord, error), cp *Checkpoint, visit func(i int64, l *Leaf, rec *healthcode.LogRecord)) error {
	if size < 0 {
		return healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "negative log size %d", size)
	}
	if cp != nil && cp.Size > size {
		return tampered("tlog.truncated", "the log holds %d leaves but the checkpoint says %d", size, cp.Size)
	}
	checkRoot := func(a *Appender) error {
		if cp == nil || a.Size() != cp.Size {
			return nil
		}
		root, err := a.Root()
		if err != nil {
			return err
		}
		if root != cp.Root {
			return tampered("tlog.root_mismatch", "the leaves give root %s at size %d, the checkpoint %s", root, cp.Size, cp.Root)
		}
		return nil
	}
	var a Appender
	if err := checkRoot(&a); err != nil {
		return err
	}
	for lo := int64(0); lo < size; lo += verifyBatch {
		hi := min(lo+verifyBatch, size)
		recs, err := records(lo, hi)
		if err != nil {
			return fmt.Errorf("tlog.VerifyTree: leaves %d to %d: %w", lo, hi-1, err)
		}
		if len(recs) != int(hi-lo) {
			return fmt.Errorf("tlog.VerifyTree: read %d leaves, want %d", len(recs), hi-lo)
		}
		for i := lo; i < hi; i++ {
			rec := &recs[i-lo]
			if rec.Leaf == nil {
				return tampered("tlog.leaf_missing", "leaf %d is missing from the log", i)
			}
			l, err := DecodeLeaf(rec.Leaf)
			if err != nil {
				return tampered("tlog.leaf_malformed", "leaf %d is not a valid leaf: %s", i, healthcode.ErrorMessage(err))
			}
			if visit != nil {
				visit(i, l, rec)
			}
			_, hs, err := a.Append(rec.Leaf)
			if err != nil {
				return tampered("tlog.leaf_malformed", "leaf %d: %s", i, healthcode.ErrorMessage(err))
			}
			at := tlog.StoredHashIndex(0, i)
			if len(rec.Hashes) < len(hs) {
				return tampered("tlog.hash_missing", "the stored hashes written with leaf %d (storage index %d on) are missing", i, at)
			}
			for k, h := range hs {
				if h == rec.Hashes[k] {
					continue
				}
				if k == 0 {
					return tampered("tlog.leaf_mismatch", "leaf %d does not match its stored hash (storage index %d): the leaf or its hash was changed", i, at)
				}
				return tampered("tlog.hash_mismatch", "stored hash %d (level %d, written with leaf %d) differs from the one the leaves give", at+int64(k), k, i)
			}
			if err := checkRoot(&a); err != nil {
				return err
			}
		}
	}
	return nil
}
