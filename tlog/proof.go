package tlog

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
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
// (verbatim, with whatever cosignatures it carries). The proof's "extra"
// data (opaque to C2SP, ours to define) carries the leaf and its opening,
// so the receipt verifies and opens offline with nothing but the log's
// public key:
//
//	c2sp.org/tlog-proof@v1
//	extra <base64 receipt data>
//	index <decimal>
//	<base64 hash>          one per line, leaf's sibling first (RFC 6962)
//	                       an empty line
//	<signed checkpoint>
//
//	receipt data = u16 len(leaf) leaf u16 len(subject) subject opening
//
// subject and opening are as EncodeLeaf and the store give them (the
// opening of the leaf's commitments: the person's pseudonym, reason, rule,
// evidence…); both are empty for a receipt that proves inclusion only.
func FormatProof(index int64, leaf []byte, subject string, opening []byte, proof tlog.RecordProof, checkpoint []byte) []byte {
	extra := make([]byte, 0, 4+len(leaf)+len(subject)+len(opening))
	extra = binary.BigEndian.AppendUint16(extra, uint16(len(leaf)))
	extra = append(extra, leaf...)
	extra = binary.BigEndian.AppendUint16(extra, uint16(len(subject)))
	extra = append(extra, subject...)
	extra = append(extra, opening...)
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	b.WriteString("extra " + base64.StdEncoding.EncodeToString(extra) + "\n")
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
	// Subject and Opening are the receipt's opening, empty if it has none;
	// Opened is the entry they open (every field filled), nil if none.
	Subject string
	Opening []byte
	Opened  *healthcode.LogEntry
}

func malformedProof(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, "tlog.proof_malformed", "malformed proof: "+format, args...)
}

// VerifyProof checks a receipt made by FormatProof offline: the checkpoint's
// signature by one of the log's keys (see OpenCheckpoint for its errors),
// the leaf's format, the inclusion of the leaf at its index, and, if the
// receipt carries an opening, that it opens the leaf. Returns EINVALID with
// detail "tlog.proof_malformed", "tlog.index_beyond_tree",
// "tlog.proof_mismatch" (the leaf is not in the signed tree at that index),
// "tlog.leaf_malformed", "tlog.opening_mismatch" or any of OpenCheckpoint's. Every byte counts,
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
	data, ok := decodeBase64(extra)
	if !ok {
		return nil, malformedProof("extra data is not canonical base64")
	}
	if len(data) < 2 || len(data) < 4+int(binary.BigEndian.Uint16(data)) {
		return nil, malformedProof("extra data is not a leaf and its opening")
	}
	n := int(binary.BigEndian.Uint16(data))
	leaf, data := data[2:2+n], data[2+n:]
	if len(leaf) == 0 || len(data) < 2+int(binary.BigEndian.Uint16(data)) {
		return nil, malformedProof("extra data is not a leaf and its opening")
	}
	n = int(binary.BigEndian.Uint16(data))
	res.Leaf, res.Subject, res.Opening = leaf, string(data[2:2+n]), data[2+n:]
	if len(res.Opening) == 0 {
		res.Opening = nil
	}
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
	if res.Subject != "" || res.Opening != nil {
		if res.Opened, err = res.Entry.Open(res.Subject, res.Opening); err != nil {
			return nil, fmt.Errorf("tlog.VerifyProof: %w", err)
		}
	}
	return res, nil
}
