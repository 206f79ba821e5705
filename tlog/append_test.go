package tlog

import (
	"testing"

	"healthcode"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/tlog"
)

func TestLeafOfStorageIndex(t *testing.T) {
	t.Parallel()
	m := &MemoryLog{}
	for n := int64(0); n < 3000; n++ {
		_, hs, err := m.app.Clone().Append([]byte{byte(n)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Append([]byte{byte(n)}); err != nil {
			t.Fatal(err)
		}
		for k := range hs {
			i := tlog.StoredHashIndex(0, n) + int64(k)
			leaf, off := LeafOfStorageIndex(i)
			if leaf != n || off != k {
				t.Fatalf("LeafOfStorageIndex(%d) = %d, %d; want %d, %d", i, leaf, off, n, k)
			}
		}
	}
	if got := int64(len(m.hashes)); got != tlog.StoredHashCount(3000) {
		t.Errorf("%d stored hashes, want %d", got, tlog.StoredHashCount(3000))
	}
	if leaf, off := LeafOfStorageIndex(-1); leaf != -1 || off != 0 {
		t.Errorf("LeafOfStorageIndex(-1) = %d, %d", leaf, off)
	}
}

// TestAppenderMatchesStore checks the in-memory right edge against
// StoredHashesForLeaf reading the whole store, and NewAppender at every size.
func TestAppenderMatchesStore(t *testing.T) {
	t.Parallel()
	m := &MemoryLog{}
	var a Appender
	for n := int64(0); n < 600; n++ {
		leaf := testLeaf(t, int(n))
		want, err := StoredHashesForLeaf(n, leaf, m)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := NewAppender(n, m)
		if err != nil {
			t.Fatal(err)
		}
		for name, app := range map[string]*Appender{"running": &a, "loaded": loaded} {
			i, got, err := app.Append(leaf)
			if err != nil || i != n {
				t.Fatalf("%s: Append = %d, %v", name, i, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s: leaf %d hashes (-want +got):\n%s", name, n, diff)
			}
		}
		m.hashes = append(m.hashes, want...)
		m.leaves = append(m.leaves, leaf)
		m.app = a
		root, err := a.Root()
		if err != nil {
			t.Fatal(err)
		}
		if want, err := tlog.TreeHash(n+1, m); err != nil || root != want {
			t.Fatalf("root at %d = %v, want %v (%v)", n+1, root, want, err)
		}
	}
	if _, err := StoredHashesForLeaf(-1, nil, m); healthcode.ErrorCode(err) != healthcode.EINVALID {
		t.Errorf("negative index: %v", err)
	}
	if _, err := NewAppender(-1, m); healthcode.ErrorCode(err) != healthcode.EINVALID {
		t.Errorf("negative size: %v", err)
	}
	if _, err := NewAppender(m.Size()+1, m); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		t.Errorf("NewAppender beyond the store: %v", err)
	}
	if _, _, err := a.Append(nil); healthcode.ErrorDetail(err) != "tlog.leaf_size" {
		t.Errorf("empty leaf: %v", err)
	}
	if _, err := a.ReadHashes([]int64{0}); err == nil {
		t.Error("Appender served a hash off the right edge")
	}
}

// TestAppenderRollback shows the discipline for transactions: append to a
// clone, keep it only on commit.
func TestAppenderRollback(t *testing.T) {
	t.Parallel()
	m := buildLog(t, 37)
	before, _ := m.Root()
	tx := m.app.Clone()
	for i := range 5 {
		if _, _, err := tx.Append(testLeaf(t, 1000+i)); err != nil {
			t.Fatal(err)
		}
	}
	// Rolled back: tx is dropped.
	if got, _ := m.Root(); got != before || m.Size() != 37 {
		t.Fatal("appending to a clone changed the original")
	}
	for i := 37; i < 50; i++ {
		if _, err := m.Append(testLeaf(t, i)); err != nil {
			t.Fatal(err)
		}
	}
	want := buildLog(t, 50)
	if diff := cmp.Diff(want.hashes, m.hashes); diff != "" {
		t.Errorf("after a rollback (-want +got):\n%s", diff)
	}
}
