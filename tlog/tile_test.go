package tlog

import (
	"bytes"
	"fmt"
	"testing"

	"healthcode"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/tlog"
)

func TestTilePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		want TilePath
	}{
		{"tile/0/000", TilePath{Level: 0, N: 0, W: 256}},
		{"tile/0/x001/234", TilePath{Level: 0, N: 1234, W: 256}},
		{"tile/2/x001/x234/067.p/5", TilePath{Level: 2, N: 1234067, W: 5}},
		{"tile/entries/000.p/1", TilePath{Entries: true, N: 0, W: 1}},
		{"tile/entries/x005/999", TilePath{Entries: true, N: 5999, W: 256}},
	} {
		got, err := ParseTilePath(tc.path)
		if err != nil {
			t.Errorf("ParseTilePath(%q): %v", tc.path, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseTilePath(%q) (-want +got):\n%s", tc.path, diff)
		}
		if got.String() != tc.path {
			t.Errorf("String() = %q, want %q", got.String(), tc.path)
		}
		if got.Full() != (tc.want.W == 256) {
			t.Errorf("%q: Full() = %v", tc.path, got.Full())
		}
	}
	for _, p := range []string{
		"", "tile", "tile/", "tile/0", "tile/0/1", "tile/0/0000", "tile/0/001.p/0", "tile/0/001.p/256",
		"tile/0/001.p/05", "tile/0/x000/001", "tile/0/x1/001", "tile/8/0/000", "tile/data/000", "tile/-1/000",
		"tile/9/000", "tile/entries/001.p/", "tile/entries/0/000", "tiles/0/000", "/tile/0/000",
		"tile/0/001/", "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
	} {
		if _, err := ParseTilePath(p); healthcode.ErrorDetail(err) != "tlog.tile_path" {
			t.Errorf("ParseTilePath(%q) = %v, want tlog.tile_path", p, err)
		}
	}
}

// tileReader serves x/mod's tile client through ReadTile, as an HTTP
// handler would: a C2SP client reading our tiles recomputes the same tree.
type tileReader struct {
	size int64
	r    tlog.HashReader
}

func (tr tileReader) Height() int { return TileHeight }
func (tr tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := TilePath{Level: t.L, N: t.N, W: t.W}
		b, err := ReadTile(p.String(), tr.size, tr.r)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func TestReadTile(t *testing.T) {
	t.Parallel()
	m := &MemoryLog{}
	for i := range 70000 {
		m.Append([]byte(fmt.Sprint(i)))
	}
	size := m.Size()
	root, _ := m.Root()
	// A client reading only tiles gets the root and proofs.
	hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tileReader{size, m})
	if got, err := tlog.TreeHash(size, hr); err != nil || got != root {
		t.Fatalf("tree hash through tiles = %v, %v; want %v", got, err, root)
	}
	for _, i := range []int64{0, 255, 256, 65535, 69999} {
		p, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, size, root, i, tlog.RecordHash([]byte(fmt.Sprint(i)))); err != nil {
			t.Fatalf("proof of %d through tiles: %v", i, err)
		}
	}
	// 70000 = 273*256 + 112; level 1 has 273 hashes = 256 + 17; level 2 has 1.
	full, err := ReadTile("tile/0/000", size, m)
	if err != nil || len(full) != 256*32 {
		t.Fatalf("full tile: %d bytes, %v", len(full), err)
	}
	h, _ := m.ReadHashes([]int64{tlog.StoredHashIndex(0, 255)})
	if !bytes.Equal(full[255*32:], h[0][:]) {
		t.Error("tile/0/000 does not end with leaf 255's hash")
	}
	for _, tc := range []struct {
		path string
		want int // bytes, or -1 for beyond the tree
	}{
		{"tile/0/272", 256 * 32},
		{"tile/0/273.p/112", 112 * 32},
		{"tile/0/273.p/3", 3 * 32},
		{"tile/0/273.p/113", -1},
		{"tile/0/273", -1},
		{"tile/0/274.p/1", -1},
		{"tile/1/000", 256 * 32},
		{"tile/1/001.p/17", 17 * 32},
		{"tile/1/001.p/18", -1},
		{"tile/2/000.p/1", 32},
		{"tile/2/000.p/2", -1},
		{"tile/3/000.p/1", -1},
	} {
		b, err := ReadTile(tc.path, size, m)
		if tc.want < 0 {
			if healthcode.ErrorCode(err) != healthcode.ENOTFOUND || healthcode.ErrorDetail(err) != "tlog.tile_beyond_tree" {
				t.Errorf("%s: got %v, want tlog.tile_beyond_tree", tc.path, err)
			}
			continue
		}
		if err != nil || len(b) != tc.want {
			t.Errorf("%s: %d bytes, %v; want %d", tc.path, len(b), err, tc.want)
		}
	}
	_, err = ReadTile("tile/entries/000", size, m)
	wantErr(t, err, healthcode.EINVALID, "tlog.tile_path")
	_, err = ReadTile("tile/0/0", size, m)
	wantErr(t, err, healthcode.EINVALID, "tlog.tile_path")
}

func TestEntryBundle(t *testing.T) {
	t.Parallel()
	m := buildLog(t, 300)
	b, err := ReadEntryBundle("tile/entries/001.p/44", m.Size(), m.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ParseEntryBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 44 {
		t.Fatalf("%d entries", len(entries))
	}
	for k, e := range entries {
		want, _ := m.Leaf(256 + int64(k))
		if !bytes.Equal(e, want) {
			t.Fatalf("entry %d differs", k)
		}
	}
	if b[0] != byte(len(entries[0])>>8) || b[1] != byte(len(entries[0])) {
		t.Error("entry length is not 2-byte big-endian")
	}
	if b, err := ReadEntryBundle("tile/entries/000", m.Size(), m.Leaf); err != nil || len(b) == 0 {
		t.Errorf("full bundle: %v", err)
	}
	_, err = ReadEntryBundle("tile/entries/001.p/45", m.Size(), m.Leaf)
	wantErr(t, err, healthcode.ENOTFOUND, "tlog.tile_beyond_tree")
	_, err = ReadEntryBundle("tile/entries/001", m.Size(), m.Leaf)
	wantErr(t, err, healthcode.ENOTFOUND, "tlog.tile_beyond_tree")
	_, err = ReadEntryBundle("tile/0/000", m.Size(), m.Leaf)
	wantErr(t, err, healthcode.EINVALID, "tlog.tile_path")
	_, err = EntryBundle([][]byte{make([]byte, MaxLeafSize+1)})
	wantErr(t, err, healthcode.EINVALID, "tlog.leaf_size")
	for _, bad := range [][]byte{{0}, {0, 5, 1}, bytes.Repeat([]byte{0, 0}, 257)} {
		_, err := ParseEntryBundle(bad)
		wantErr(t, err, healthcode.EINVALID, "tlog.bundle_malformed")
	}
	if e, err := ParseEntryBundle(nil); err != nil || len(e) != 0 {
		t.Errorf("empty bundle: %v %v", e, err)
	}
}

func TestHashTiles(t *testing.T) {
	t.Parallel()
	paths := func(size int64) []string {
		var out []string
		for _, tp := range HashTiles(size) {
			out = append(out, tp.String())
		}
		return out
	}
	for size, want := range map[int64][]string{
		0:       nil,
		1:       {"tile/0/000.p/1"},
		256:     {"tile/0/000", "tile/1/000.p/1"},
		300:     {"tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1"},
		65536:   append(append([]string{}, tilesOfLevel(0, 256)...), "tile/1/000", "tile/2/000.p/1"),
		1 << 24: nil, // checked by count below
	} {
		if size == 1<<24 {
			if n := len(HashTiles(size)); n != 65536+256+1+1 {
				t.Errorf("HashTiles(%d) has %d tiles", size, n)
			}
			continue
		}
		if diff := cmp.Diff(want, paths(size)); diff != "" {
			t.Errorf("HashTiles(%d) (-want +got):\n%s", size, diff)
		}
	}
	// Every tile HashTiles names is one the tree has.
	m := buildLog(t, 300)
	for _, tp := range HashTiles(300) {
		if _, err := ReadTile(tp.String(), 300, m); err != nil {
			t.Errorf("%s: %v", tp, err)
		}
	}
}

func tilesOfLevel(level, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, TilePath{Level: level, N: int64(i), W: TileWidth}.String())
	}
	return out
}
