package tlog

import (
	"encoding/binary"
	"fmt"
	"strings"

	"healthcode"

	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of C2SP tlog-tiles: a full tile holds 256 hashes
// or 256 entries.
const TileHeight = 8

// TileWidth is the number of hashes or entries in a full tile.
const TileWidth = 1 << TileHeight

// TilePath is a C2SP tlog-tiles resource: a hash tile "tile/<L>/<N>[.p/<W>]"
// or an entry bundle "tile/entries/<N>[.p/<W>]", N written in the
// three-digit groups form (1234067 is x001/x234/067).
//
// A full tile (W = 256) never changes once it exists and may be served with
// "Cache-Control: public, max-age=31536000, immutable". A partial tile's
// bytes never change either, but the log stops serving it once the full
// tile exists, so it should be cached briefly.
type TilePath struct {
	Entries bool  // an entry bundle rather than a hash tile
	Level   int   // hash tiles: the tile level L (0 holds the leaf hashes)
	N       int64 // the tile's index within its level
	W       int   // the number of hashes or entries, 1..256
}

// tile returns the equivalent golang.org/x/mod/sumdb/tlog tile.
func (t TilePath) tile() tlog.Tile {
	l := t.Level
	if t.Entries {
		l = -1
	}
	return tlog.Tile{H: TileHeight, L: l, N: t.N, W: t.W}
}

// String returns the C2SP path, e.g. "tile/0/x001/234.p/5".
func (t TilePath) String() string {
	p := t.tile().Path() // "tile/8/<L or data>/..."
	if t.Entries {
		return "tile/entries/" + strings.TrimPrefix(p, "tile/8/data/")
	}
	return "tile/" + strings.TrimPrefix(p, "tile/8/")
}

// Full reports whether t is a full tile, whose bytes are immutable.
func (t TilePath) Full() bool { return t.W == TileWidth }

// ParseTilePath parses a C2SP tile or entry-bundle path strictly (a path has
// one spelling). Returns EINVALID (detail "tlog.tile_path") otherwise.
func ParseTilePath(path string) (TilePath, error) {
	bad := healthcode.Errorfd(healthcode.EINVALID, "tlog.tile_path", "%q is not a tlog-tiles path", path)
	// Reuse x/mod's parser on the equivalent Go checksum-database path,
	// which has the tile height as an extra element.
	var goPath string
	entries := false
	if rest, ok := strings.CutPrefix(path, "tile/entries/"); ok {
		goPath, entries = "tile/8/data/"+rest, true
	} else if rest, ok := strings.CutPrefix(path, "tile/"); ok {
		goPath = "tile/8/" + rest
	} else {
		return TilePath{}, bad
	}
	if len(path) > 100 {
		return TilePath{}, bad
	}
	t, err := tlog.ParseTilePath(goPath)
	if err != nil || t.H != TileHeight || (t.L == -1) != entries || t.L > 7 || t.N < 0 || t.N > 1<<54 {
		return TilePath{}, bad
	}
	tp := TilePath{Entries: entries, N: t.N, W: t.W}
	if !entries {
		tp.Level = t.L
	}
	if tp.String() != path {
		return TilePath{}, bad
	}
	return tp, nil
}

// available returns how many hashes (or entries) of t's level a tree of
// size leaves has.
func (t TilePath) available(size int64) int64 {
	if t.Entries {
		return size
	}
	return size >> (TileHeight * t.Level)
}

// check refuses a tile that reaches beyond a tree of size leaves.
func (t TilePath) check(size int64) error {
	if t.N*TileWidth+int64(t.W) > t.available(size) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.tile_beyond_tree", "%s is beyond the tree of size %d", t, size)
	}
	return nil
}

// HashTiles returns every hash tile of a tree of size leaves, the partial
// ones at their widest, level by level: what an auditor fetches to check
// every stored hash the log serves.
func HashTiles(size int64) []TilePath {
	var out []TilePath
	for l := 0; ; l++ {
		n := size >> (TileHeight * l) // hashes at tile level l
		if n == 0 || l > 7 {
			return out
		}
		for i := int64(0); i*TileWidth < n; i++ {
			out = append(out, TilePath{Level: l, N: i, W: int(min(n-i*TileWidth, TileWidth))})
		}
	}
}

// ReadTile returns the bytes of the hash tile at path for a tree of size
// leaves: W hashes of 32 bytes. Returns EINVALID ("tlog.tile_path") for a
// malformed path or an entry bundle, ENOTFOUND ("tlog.tile_beyond_tree") for
// a tile the tree does not have yet. A partial tile of any width the tree
// already covers is served.
func ReadTile(path string, size int64, r tlog.HashReader) ([]byte, error) {
	t, err := ParseTilePath(path)
	if err != nil {
		return nil, err
	}
	if t.Entries {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.tile_path", "%s is an entry bundle, not a hash tile", path)
	}
	if err := t.check(size); err != nil {
		return nil, err
	}
	b, err := tlog.ReadTileData(t.tile(), r)
	if err != nil {
		return nil, readErr("tlog.ReadTile "+path, err)
	}
	return b, nil
}

// ReadEntryBundle returns the entry bundle at path for a tree of size leaves,
// reading the leaves with leafAt. Errors as ReadTile.
func ReadEntryBundle(path string, size int64, leafAt func(i int64) ([]byte, error)) ([]byte, error) {
	t, err := ParseTilePath(path)
	if err != nil {
		return nil, err
	}
	if !t.Entries {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.tile_path", "%s is a hash tile, not an entry bundle", path)
	}
	if err := t.check(size); err != nil {
		return nil, err
	}
	leaves := make([][]byte, t.W)
	for k := range leaves {
		if leaves[k], err = leafAt(t.N*TileWidth + int64(k)); err != nil {
			return nil, fmt.Errorf("tlog.ReadEntryBundle %s: %w", path, err)
		}
	}
	return EntryBundle(leaves)
}

// EntryBundle encodes leaves as a C2SP entry bundle: each entry as a 2-byte
// big-endian length and its bytes. Returns EINVALID for an entry of more
// than 65535 bytes (EncodeLeaf never makes one).
func EntryBundle(leaves [][]byte) ([]byte, error) {
	n := 0
	for _, l := range leaves {
		if len(l) > MaxLeafSize {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.leaf_size", "entry of %d bytes does not fit an entry bundle", len(l))
		}
		n += 2 + len(l)
	}
	b := make([]byte, 0, n)
	for _, l := range leaves {
		b = binary.BigEndian.AppendUint16(b, uint16(len(l)))
		b = append(b, l...)
	}
	return b, nil
}

// ParseEntryBundle splits an entry bundle into its entries. Returns EINVALID
// (detail "tlog.bundle_malformed") for a truncated bundle or one with more
// than 256 entries.
func ParseEntryBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 || len(out) == TileWidth {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bundle_malformed", "malformed entry bundle")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.bundle_malformed", "truncated entry bundle")
		}
		out = append(out, b[2:2+n:2+n])
		b = b[2+n:]
	}
	return out, nil
}
