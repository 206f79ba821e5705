package tlog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Seeds for the fuzzers: valid inputs made with the fixed test keys. The
// files under testdata/fuzz hold the same seeds (written by
// TestWriteFuzzCorpus with HEALTHCODE_WRITE_CORPUS=1) plus anything the
// fuzzer found.
func checkpointSeeds(tb testing.TB) [][]byte {
	signer, _ := logKey(tb)
	m := buildLog(tb, 3)
	return [][]byte{
		signedCheckpoint(tb, m, signer),
		signedCheckpoint(tb, m, signer, "time 1655112600"),
		[]byte(testOrigin + "\n3\nAAAA\n\n— x AAAAAAA=\n"),
	}
}

func proofSeeds(tb testing.TB) [][]byte {
	signer, _ := logKey(tb)
	m := buildLog(tb, 6)
	cp := signedCheckpoint(tb, m, signer)
	var out [][]byte
	for _, i := range []int64{0, 5} {
		p, err := InclusionProof(i, 6, m)
		if err != nil {
			tb.Fatal(err)
		}
		leaf, _ := m.Leaf(i)
		out = append(out, FormatProof(i, leaf, pseudonym(int(i)), testOpening(tb, int(i)), p, cp))
	}
	return out
}

func FuzzOpenCheckpoint(f *testing.F) {
	for _, s := range checkpointSeeds(f) {
		f.Add(s)
	}
	_, vs := logKey(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := OpenCheckpoint(msg, testOrigin, vs)
		if err != nil {
			return
		}
		// Whatever opens must be exactly what a log would have formatted.
		text, err := FormatCheckpoint(c.Origin, c.Size, c.Root, c.Extensions...)
		if err != nil {
			t.Fatalf("opened checkpoint does not format: %v", err)
		}
		if !bytes.HasPrefix(msg, append(text, '\n')) || len(c.Signatures) == 0 {
			t.Fatalf("opened checkpoint is not canonical:\n%q\n%q", msg, text)
		}
	})
}

func FuzzVerifyProof(f *testing.F) {
	for _, s := range proofSeeds(f) {
		f.Add(s)
	}
	_, vs := logKey(f)
	f.Fuzz(func(t *testing.T, bundle []byte) {
		res, err := VerifyProof(bundle, testOrigin, vs)
		if err != nil {
			return
		}
		// A verified proof has one spelling.
		if again := FormatProof(res.Index, res.Leaf, res.Subject, res.Opening, res.Proof, res.Checkpoint.Note); !bytes.Equal(again, bundle) {
			t.Fatalf("verified proof is not canonical:\n%q\n%q", bundle, again)
		}
	})
}

// FuzzLeafOpen: an opening (from a receipt, untrusted) either fails or is
// the one opening of the leaf, which re-encodes to the same leaf.
func FuzzLeafOpen(f *testing.F) {
	leaf := testLeaf(f, 1)
	l, err := DecodeLeaf(leaf)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pseudonym(1), testOpening(f, 1))
	f.Add(pseudonym(2), testOpening(f, 2))
	f.Fuzz(func(t *testing.T, subject string, opening []byte) {
		e, err := l.Open(subject, opening)
		if err != nil {
			return
		}
		again, o, err := EncodeLeaf(e, opening[:SaltSize])
		if err != nil || !bytes.Equal(again, leaf) || !bytes.Equal(o, opening) {
			t.Fatalf("an accepted opening is not the leaf's: %v", err)
		}
	})
}

func FuzzDecodeLeaf(f *testing.F) {
	f.Add(testLeaf(f, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLeaf(b)
		if err != nil {
			return
		}
		if again := l.Bytes(); !bytes.Equal(again, b) {
			t.Fatalf("decoded leaf re-encodes differently:\n%x\n%x", b, again)
		}
	})
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/1/x001/234.p/7", "tile/entries/x002/000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tp, err := ParseTilePath(p)
		if err != nil {
			return
		}
		if tp.String() != p || tp.W < 1 || tp.W > TileWidth || tp.N < 0 {
			t.Fatalf("ParseTilePath(%q) = %+v", p, tp)
		}
	})
}

// TestWriteFuzzCorpus writes the seed corpus files; run it with
// HEALTHCODE_WRITE_CORPUS=1 after changing the formats or the test keys.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("HEALTHCODE_WRITE_CORPUS") == "" {
		t.Skip("set HEALTHCODE_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(name string, seeds [][]byte) {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzOpenCheckpoint", checkpointSeeds(t))
	write("FuzzVerifyProof", proofSeeds(t))
	write("FuzzDecodeLeaf", [][]byte{testLeaf(t, 1), testLeaf(t, 2)})
	dir := filepath.Join("testdata", "fuzz", "FuzzLeafOpen")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		body := fmt.Sprintf("go test fuzz v1\nstring(%q)\n[]byte(%q)\n", pseudonym(i), testOpening(t, i))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i-1)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
