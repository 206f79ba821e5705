package tlog

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"healthcode"

	"golang.org/x/mod/sumdb/tlog"
)

// BenchmarkAppend measures one logged entry: encoding the leaf, computing
// its stored hashes from the in-memory right edge and writing leaf and
// hashes to an in-memory store (what a database row write replaces).
func BenchmarkAppend(b *testing.B) {
	salts := make([][]byte, 1024)
	entries := make([]*healthcode.LogEntry, 1024)
	for i := range salts {
		salts[i], entries[i] = testSalt(i), decisionEntry(i)
	}
	m := &MemoryLog{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		leaf, _, err := EncodeLeaf(entries[i%1024], salts[i%1024])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Append(leaf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// hashStore is a hashes-only in-memory store, to hold a million-leaf tree
// without its leaves.
type hashStore struct{ hashes []tlog.Hash }

func (s *hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for k, i := range indexes {
		out[k] = s.hashes[i]
	}
	return out, nil
}

var millionTree *hashStore

func buildMillion(b *testing.B) *hashStore {
	if millionTree != nil {
		return millionTree
	}
	const n = 1_000_000
	s := &hashStore{hashes: make([]tlog.Hash, 0, tlog.StoredHashCount(n))}
	var a Appender
	var leaf [8]byte
	for i := range int64(n) {
		binary.BigEndian.PutUint64(leaf[:], uint64(i))
		_, hs, err := a.Append(leaf[:])
		if err != nil {
			b.Fatal(err)
		}
		s.hashes = append(s.hashes, hs...)
	}
	millionTree = s
	return s
}

// BenchmarkInclusionProof measures an inclusion proof at a tree of one
// million leaves and reports the p99 latency.
func BenchmarkInclusionProof(b *testing.B) {
	const n = 1_000_000
	s := buildMillion(b)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		idx := int64(uint64(i) * 2654435761 % n)
		t0 := time.Now()
		if _, err := InclusionProof(idx, n, s); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
