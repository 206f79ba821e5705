package tlog

import (
	"bytes"
	"testing"

	"healthcode"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"
)

// receipt returns a receipt for leaf i of m under a fresh checkpoint, with
// no opening.
func receipt(t *testing.T, m *MemoryLog, i int64, signer note.Signer) []byte {
	return receiptOpening(t, m, i, signer, "", nil)
}

// receiptOpening returns a receipt for leaf i of m with an opening.
func receiptOpening(t *testing.T, m *MemoryLog, i int64, signer note.Signer, subject string, opening []byte) []byte {
	t.Helper()
	cp := signedCheckpoint(t, m, signer)
	p, err := InclusionProof(i, m.Size(), m)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := m.Leaf(i)
	if err != nil {
		t.Fatal(err)
	}
	return FormatProof(i, leaf, subject, opening, p, cp)
}

func TestProofRoundTrip(t *testing.T) {
	t.Parallel()
	signer, vs := logKey(t)
	m := &MemoryLog{}
	for n := 1; n <= 70; n++ {
		m.Append(testLeaf(t, n-1))
		for _, i := range []int64{0, int64(n) / 2, int64(n) - 1} {
			b := receiptOpening(t, m, i, signer, pseudonym(int(i)), testOpening(t, int(i)))
			res, err := VerifyProof(b, testOrigin, vs)
			if err != nil {
				t.Fatalf("size %d index %d: %v\n%s", n, i, err, b)
			}
			leaf, _ := m.Leaf(i)
			if res.Index != i || !bytes.Equal(res.Leaf, leaf) || res.Checkpoint.Size != int64(n) {
				t.Fatalf("size %d index %d: got %+v", n, i, res)
			}
			want := opened(decisionEntry(int(i)))
			if diff := cmp.Diff(want, res.Opened); diff != "" {
				t.Fatalf("entry (-want +got):\n%s", diff)
			}
			if again := FormatProof(res.Index, res.Leaf, res.Subject, res.Opening, res.Proof, res.Checkpoint.Note); !bytes.Equal(again, b) {
				t.Fatal("reformatting a verified proof changed it")
			}
			// Without its opening the receipt still proves inclusion,
			// and opens nothing.
			res, err = VerifyProof(receipt(t, m, i, signer), testOrigin, vs)
			if err != nil || res.Opened != nil || res.Entry.Entry.Reason != "" {
				t.Fatalf("receipt with no opening: %v %+v", err, res)
			}
		}
	}
}

// TestVerifyProofFlipEveryByte is the acceptance test: changing any one byte
// of a receipt makes it fail.
func TestVerifyProofFlipEveryByte(t *testing.T) {
	t.Parallel()
	signer, vs := logKey(t)
	m := buildLog(t, 27)
	b := receiptOpening(t, m, 11, signer, pseudonym(11), testOpening(t, 11))
	if _, err := VerifyProof(b, testOrigin, vs); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		for _, mask := range []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff} {
			c := bytes.Clone(b)
			c[i] ^= mask
			if _, err := VerifyProof(c, testOrigin, vs); err == nil {
				t.Fatalf("flipping byte %d (%q) with %#x still verifies", i, b[i], mask)
			} else if healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("flipping byte %d: %v is not EINVALID", i, err)
			}
		}
	}
	for n := range len(b) {
		if _, err := VerifyProof(b[:n], testOrigin, vs); err == nil {
			t.Fatalf("a prefix of %d bytes verifies", n)
		}
	}
}

func TestVerifyProofErrors(t *testing.T) {
	t.Parallel()
	signer, vs := logKey(t)
	other, _, _ := fixedKey(t, testOrigin, 3)
	m := buildLog(t, 9)
	cp := signedCheckpoint(t, m, signer)
	p3, _ := InclusionProof(3, 9, m)
	leaf3, _ := m.Leaf(3)
	leaf4, _ := m.Leaf(4)
	for _, tc := range []struct {
		name, detail string
		bundle       []byte
	}{
		{"other leaf", "tlog.proof_mismatch", FormatProof(3, leaf4, "", nil, p3, cp)},
		{"other index", "tlog.proof_mismatch", FormatProof(2, leaf3, "", nil, p3, cp)},
		{"index beyond tree", "tlog.index_beyond_tree", FormatProof(9, leaf3, "", nil, p3, cp)},
		{"no proof hashes", "tlog.proof_mismatch", FormatProof(3, leaf3, "", nil, nil, cp)},
		{"unknown key", "tlog.unknown_key", FormatProof(3, leaf3, "", nil, p3, signedCheckpoint(t, m, other))},
		{"not a leaf", "tlog.proof_malformed", FormatProof(3, nil, "", nil, p3, cp)},
		{"no checkpoint", "tlog.proof_malformed", FormatProof(3, leaf3, "", nil, p3, nil)[:200]},
		{"wrong header", "tlog.proof_malformed", append([]byte("c2sp.org/tlog-proof@v2"), FormatProof(3, leaf3, "", nil, p3, cp)[22:]...)},
		{"too large", "tlog.proof_malformed", make([]byte, MaxProofSize+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := VerifyProof(tc.bundle, testOrigin, vs)
			wantErr(t, err, healthcode.EINVALID, tc.detail)
		})
	}
	_, err := VerifyProof(FormatProof(3, leaf3, "", nil, p3, cp), "other.example/log", vs)
	wantErr(t, err, healthcode.EINVALID, "tlog.wrong_origin")

	// A leaf in the tree that is not a valid leaf is refused after the
	// inclusion check.
	junk := &MemoryLog{}
	junk.Append([]byte("not a leaf"))
	_, err = VerifyProof(receipt(t, junk, 0, signer), testOrigin, vs)
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_malformed")
}

func TestProofsBeyondTree(t *testing.T) {
	t.Parallel()
	m := buildLog(t, 5)
	for _, i := range []int64{-1, 5, 100} {
		_, err := InclusionProof(i, 5, m)
		wantErr(t, err, healthcode.ENOTFOUND, "tlog.index_beyond_tree")
	}
	// Asking for a size the store does not have is a missing hash.
	_, err := InclusionProof(1, 9, m)
	wantErr(t, err, healthcode.ETAMPERED, "tlog.hash_missing")
	for _, c := range [][2]int64{{0, 5}, {6, 5}, {-1, 3}} {
		_, err := ConsistencyProof(c[0], c[1], m)
		wantErr(t, err, healthcode.EINVALID, "tlog.index_beyond_tree")
	}
	if p, err := ConsistencyProof(5, 5, m); err != nil || len(p) != 0 {
		t.Errorf("ConsistencyProof(5, 5) = %v, %v", p, err)
	}
}
