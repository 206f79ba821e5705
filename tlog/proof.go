package tlog

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"healthcode"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ProofHeader is the first line of a C2SP tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// MaxProofSize bounds a proof bundle: a leaf, 63 hashes and a checkpoint.
const MaxProofSize = MaxCheckpointSize + 2*MaxLeafSize

// InclusionProof returns the proof that leaf index is in the tree of the
// given size. Returns ENOTFOUND (detail "tlog.index_beyond_tree") if there is
// no such leaf.
func InclusionProof(index, size int64, r tlog.HashReader) (tlog.RecordProof, error) {
	if index < 0 || index >= size {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.index_beyond_tree", "no leaf %d in a tree of %d", index, size)
	}
	p, err := tlog.ProveRecord(size, index, r)
	if err != nil {
		return nil, readErr("tlog.InclusionProof", err)
	}
	return p, nil
}

// ConsistencyProof returns the proof that the tree of size old is a prefix
// of the tree of size next. Returns EINVALID (detail "tlog.index_beyond_tree")
// unless 0 < old <= next.
func ConsistencyProof(old, next int64, r tlog.HashReader) (tlog.TreeProof, error) {
	if old < 1 || old > next {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.index_beyond_tree", "no consistency proof from size %d to %d", old, next)
	}
	p, err := tlog.ProveTree(next, old, r)
	if err != nil {
		return nil, readErr("tlog.ConsistencyProof", err)
	}
	return p, nil
}

// FormatProof returns a citizen's receipt: a self-contained C2SP tlog-proof
// that leaf is entry index of the log, under the signed checkpoint
// (verbatim, with whatever cosignatures it carries). The leaf travels in the
// "extra" line, base64-encoded, so the receipt verifies offline with nothing
// but the log's public key:
//
//	c2sp.org/tlog-proof@v1
//	extra <base64 leaf>
//	index <decimal>
//	<base64 hash>          one per line, leaf's sibling first (RFC 6962)
//	                       an empty line
//	<signed checkpoint>
//
// A receipt proves that the entry was logged; it does not name the citizen.
// The subject's opening (pseudonym and salt, see EncodeLeaf) is shown to the
// citizen beside it and checked with Leaf.Open.
func FormatProof(index int64, leaf []byte, proof tlog.RecordProof, checkpoint []byte) []byte {
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	b.WriteString("extra " + base64.StdEncoding.EncodeToString(leaf) + "\n")
	b.WriteString("index " + strconv.FormatInt(index, 10) + "\n")
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(checkpoint)
	return b.Bytes()
}

// ProofResult is what a verified receipt proves.
type ProofResult struct {
	Index      int64
	Leaf       []byte
	Entry      *Leaf // the decoded leaf
	Proof      tlog.RecordProof
	Checkpoint *Checkpoint
}

func malformedProof(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, "tlog.proof_malformed", "malformed proof: "+format, args...)
}

// VerifyProof checks a receipt made by FormatProof offline: the checkpoint's
// signature by one of the log's keys (see OpenCheckpoint for its errors),
// the leaf's format, and the inclusion of the leaf at its index. Returns
// EINVALID with detail "tlog.proof_malformed", "tlog.index_beyond_tree",
// "tlog.proof_mismatch" (the leaf is not in the signed tree at that index),
// "tlog.leaf_malformed" or any of OpenCheckpoint's. Every byte counts,
// except those of signatures by keys not in verifiers.
func VerifyProof(bundle []byte, origin string, verifiers note.Verifiers) (*ProofResult, error) {
	if len(bundle) > MaxProofSize {
		return nil, malformedProof("%d bytes, more than %d", len(bundle), MaxProofSize)
	}
	rest := bundle
	line := func() (string, bool) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", false
		}
		l := string(rest[:i])
		rest = rest[i+1:]
		return l, true
	}
	if l, ok := line(); !ok || l != ProofHeader {
		return nil, malformedProof("first line is not %q", ProofHeader)
	}
	res := &ProofResult{}
	l, ok := line()
	extra, found := strings.CutPrefix(l, "extra ")
	if !ok || !found {
		return nil, malformedProof("no extra line with the leaf")
	}
	leaf, ok := decodeBase64(extra)
	if !ok || len(leaf) == 0 {
		return nil, malformedProof("extra data is not canonical base64")
	}
	res.Leaf = leaf
	l, ok = line()
	idx, found := strings.CutPrefix(l, "index ")
	if !ok || !found {
		return nil, malformedProof("no index line")
	}
	if res.Index, ok = parseDecimal(idx); !ok {
		return nil, malformedProof("index %q is not a decimal number", idx)
	}
	for {
		l, ok := line()
		if !ok {
			return nil, malformedProof("no checkpoint")
		}
		if l == "" {
			break
		}
		if len(res.Proof) == 63 {
			return nil, malformedProof("more than 63 proof hashes")
		}
		h, ok := parseHash(l)
		if !ok {
			return nil, malformedProof("proof hash %d is not 32 bytes of canonical base64", len(res.Proof)+1)
		}
		res.Proof = append(res.Proof, h)
	}
	cp, err := OpenCheckpoint(rest, origin, verifiers)
	if err != nil {
		return nil, err
	}
	res.Checkpoint = cp
	if res.Index >= cp.Size {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.index_beyond_tree", "leaf %d is not in the checkpoint's tree of %d", res.Index, cp.Size)
	}
	if err := tlog.CheckRecord(res.Proof, cp.Size, cp.Root, res.Index, tlog.RecordHash(leaf)); err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.proof_mismatch", "the leaf is not entry %d of the signed tree of size %d", res.Index, cp.Size)
	}
	if res.Entry, err = DecodeLeaf(leaf); err != nil {
		return nil, fmt.Errorf("tlog.VerifyProof: %w", err)
	}
	return res, nil
}
