package tlog

import (
	"strings"
	"testing"

	"healthcode"

	"golang.org/x/mod/sumdb/tlog"
)

func TestVerifyTree(t *testing.T) {
	t.Parallel()
	signer, vs := logKey(t)
	const n = 2100 // more than two verification batches
	base := buildLog(t, n)
	cp := open(t, signedCheckpoint(t, base, signer), vs)
	if err := VerifyTree(n, base.Leaf, base, cp); err != nil {
		t.Fatalf("intact log: %v", err)
	}
	if err := VerifyTree(n, base.Leaf, base, nil); err != nil {
		t.Fatalf("intact log, no checkpoint: %v", err)
	}
	otherLeaf := testLeaf(t, 99999)
	for _, tc := range []struct {
		name   string
		edit   func(m *MemoryLog) int64 // returns the size to verify
		detail string
		want   string // a fragment of the message naming the place
	}{
		{"tampered leaf hash", func(m *MemoryLog) int64 { m.hashes[tlog.StoredHashIndex(0, 1500)][3] ^= 1; return n }, "tlog.leaf_mismatch", "leaf 1500 "},
		{"tampered interior hash", func(m *MemoryLog) int64 { m.hashes[tlog.StoredHashIndex(2, 200)][0] ^= 1; return n }, "tlog.hash_mismatch", "level 2, written with leaf 803"},
		{"changed leaf", func(m *MemoryLog) int64 { m.leaves[77] = otherLeaf; return n }, "tlog.leaf_mismatch", "leaf 77 "},
		{"malformed leaf", func(m *MemoryLog) int64 { m.leaves[5] = []byte("x"); return n }, "tlog.leaf_malformed", "leaf 5 "},
		{"deleted leaf", func(m *MemoryLog) int64 { m.leaves[1999] = nil; return n }, "tlog.leaf_missing", "leaf 1999 "},
		{"deleted hashes", func(m *MemoryLog) int64 { m.hashes = m.hashes[:len(m.hashes)-5]; return n }, "tlog.hash_missing", "leaves 2048 to 2099"},
		{"truncated log", func(m *MemoryLog) int64 { return n - 1 }, "tlog.truncated", "2099"},
		{"forked log", func(m *MemoryLog) int64 {
			f := buildLog(t, 1000)
			for i := 1000; i < n; i++ {
				f.Append(testLeaf(t, 5000+i))
			}
			*m = *f
			return n
		}, "tlog.root_mismatch", "at size 2100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := base.Clone()
			size := tc.edit(m)
			err := VerifyTree(size, m.Leaf, m, cp)
			wantErr(t, err, healthcode.ETAMPERED, tc.detail)
			if msg := healthcode.ErrorMessage(err); !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not name %q", msg, tc.want)
			}
		})
	}
}

// TestCheckStore covers the node's start-up check against its last published
// checkpoint and the refusal to sign after a fork.
func TestCheckStore(t *testing.T) {
	t.Parallel()
	signer, vs := logKey(t)
	backup := buildLog(t, 60)
	m := backup.Clone()
	for i := 60; i < 100; i++ {
		m.Append(testLeaf(t, i))
	}
	cp := open(t, signedCheckpoint(t, m, signer), vs)
	if err := CheckStore(100, m, cp); err != nil {
		t.Fatalf("intact: %v", err)
	}
	for i := 100; i < 130; i++ {
		m.Append(testLeaf(t, i))
	}
	if err := CheckStore(130, m, cp); err != nil {
		t.Fatalf("grown: %v", err)
	}
	next, err := SignTree(testOrigin, 130, m, cp, signer)
	if err != nil {
		t.Fatal(err)
	}
	if c := open(t, next, vs); c.Size != 130 {
		t.Errorf("signed size %d", c.Size)
	}

	// The older backup is restored: fewer leaves than published.
	restored := backup.Clone()
	wantErr(t, CheckStore(restored.Size(), restored, cp), healthcode.ETAMPERED, "tlog.truncated")
	// It then grows past the checkpoint with other leaves: a fork.
	for i := 60; i < 120; i++ {
		restored.Append(testLeaf(t, 7000+i))
	}
	wantErr(t, CheckStore(restored.Size(), restored, cp), healthcode.ETAMPERED, "tlog.fork")
	_, err = SignTree(testOrigin, restored.Size(), restored, cp, signer)
	wantErr(t, err, healthcode.ETAMPERED, "tlog.fork")
	// Exactly at the checkpoint's size, with other leaves.
	same := backup.Clone()
	for i := 60; i < 100; i++ {
		same.Append(testLeaf(t, 8000+i))
	}
	wantErr(t, CheckStore(100, same, cp), healthcode.ETAMPERED, "tlog.fork")
	// A deleted row of stored hashes.
	cut := m.Clone()
	cut.hashes = cut.hashes[:tlog.StoredHashIndex(0, 90)]
	wantErr(t, CheckStore(130, cut, cp), healthcode.ETAMPERED, "tlog.hash_missing")
	// Another log's checkpoint.
	_, err = SignTree("other.example/log", 130, m, cp, signer)
	wantErr(t, err, healthcode.EINVALID, "tlog.wrong_origin")
	// Before the first checkpoint anything goes.
	if _, err := SignTree(testOrigin, 60, backup, nil, signer); err != nil {
		t.Error(err)
	}
}
