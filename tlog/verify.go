package tlog

import (
	"fmt"

	"healthcode"

	"golang.org/x/mod/sumdb/tlog"
)

// verifyBatch is how many leaves VerifyTree checks per ReadHashes call.
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
	leaves := func(start int64, n int) ([][]byte, error) {
		out := make([][]byte, n)
		for k := range out {
			b, err := leafAt(start + int64(k))
			if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
				continue
			} else if err != nil {
				return nil, err
			}
			out[k] = b
		}
		return out, nil
	}
	return verifyTree(size, leaves, r, cp, nil)
}

// verifyTree is VerifyTree reading leaves in batches (a missing leaf is nil)
// and showing each decoded leaf to visit, if not nil.
func verifyTree(size int64, leavesAt func(start int64, n int) ([][]byte, error), r tlog.HashReader, cp *Checkpoint, visit func(i int64, l *Leaf)) error {
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
	indexes := make([]int64, 0, 2*verifyBatch+64)
	for lo := int64(0); lo < size; lo += verifyBatch {
		hi := min(lo+verifyBatch, size)
		first := tlog.StoredHashIndex(0, lo)
		// Leaf rows are contiguous: leaves lo..hi-1 hold exactly these.
		indexes = indexes[:0]
		for i, end := first, tlog.StoredHashIndex(0, hi); i < end; i++ {
			indexes = append(indexes, i)
		}
		stored, err := r.ReadHashes(indexes)
		if err != nil {
			return readErr(fmt.Sprintf("tlog.VerifyTree: leaves %d to %d", lo, hi-1), err)
		}
		if len(stored) != len(indexes) {
			return fmt.Errorf("tlog.VerifyTree: read %d hashes, want %d", len(stored), len(indexes))
		}
		leaves, err := leavesAt(lo, int(hi-lo))
		if err != nil {
			return fmt.Errorf("tlog.VerifyTree: leaves %d to %d: %w", lo, hi-1, err)
		}
		if len(leaves) != int(hi-lo) {
			return fmt.Errorf("tlog.VerifyTree: read %d leaves, want %d", len(leaves), hi-lo)
		}
		for i := lo; i < hi; i++ {
			leaf := leaves[i-lo]
			if leaf == nil {
				return tampered("tlog.leaf_missing", "leaf %d is missing from the log", i)
			}
			l, err := DecodeLeaf(leaf)
			if err != nil {
				return tampered("tlog.leaf_malformed", "leaf %d is not a valid leaf: %s", i, healthcode.ErrorMessage(err))
			}
			if visit != nil {
				visit(i, l)
			}
			_, hs, err := a.Append(leaf)
			if err != nil {
				return tampered("tlog.leaf_malformed", "leaf %d: %s", i, healthcode.ErrorMessage(err))
			}
			at := tlog.StoredHashIndex(0, i) - first
			for k, h := range hs {
				if h == stored[at+int64(k)] {
					continue
				}
				if k == 0 {
					return tampered("tlog.leaf_mismatch", "leaf %d does not match its stored hash (storage index %d): the leaf or its hash was changed", i, first+at)
				}
				return tampered("tlog.hash_mismatch", "stored hash %d (level %d, written with leaf %d) differs from the one the leaves give", first+at+int64(k), k, i)
			}
			if err := checkRoot(&a); err != nil {
				return err
			}
		}
	}
	return nil
}
