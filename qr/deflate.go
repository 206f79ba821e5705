package qr

import (
	"encoding/binary"
	"slices"
)

// The PNG's zlib stream is written here rather than by compress/flate: an
// image of a code is a few kinds of bytes in the first pixel row of each
// module row, then rows that repeat it (filtered Up to zeros), so one
// deflate block does: the first rows as literals, each repeat as a copy, and
// a Huffman code made from the counts (RFC 1951 §3.2.7, code lengths written
// one by one). It costs a fraction of a general compressor's passes and
// tables, at about the same size.

// token is a literal byte (below 256) or a copy: 1<<31 | length<<16 | distance.
type token uint32

func literal(b byte) token { return token(b) }

func copyOf(length, dist int) token { return token(1<<31 | length<<16 | dist) }

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// clOrder is the order code-length code lengths are written in.
	clOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// lengthCode returns the index of a copy length (3 to 258) in lengthBase.
func lengthCode(l int) int {
	if l == 258 {
		return 28
	}
	i := 0
	for i+1 < 28 && int(lengthBase[i+1]) <= l {
		i++
	}
	return i
}

// distCode returns the index of a distance (1 to 32768) in distBase.
func distCode(d int) int {
	i := 0
	for i+1 < 30 && int(distBase[i+1]) <= d {
		i++
	}
	return i
}

// deflater collects a stream's tokens and their counts.
type deflater struct {
	tokens []token
	lit    [286]int
	dist   [30]int
}

func (z *deflater) literal(b byte) {
	z.tokens = append(z.tokens, literal(b))
	z.lit[b]++
}

// copy adds copies of length bytes from dist back (dist ≤ 32768), in
// pieces of 3 to 258; length ≥ 3.
func (z *deflater) copy(length, dist int) {
	for length > 0 {
		n := min(length, 258)
		if r := length - n; r > 0 && r < 3 {
			n = length - 3
		}
		z.tokens = append(z.tokens, copyOf(n, dist))
		z.lit[257+lengthCode(n)]++
		z.dist[distCode(dist)]++
		length -= n
	}
}

// bitWriter writes bits least significant first, as deflate does.
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

// bits writes the n low bits of v (n ≤ 16), six bytes at a time.
func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	if w.nacc >= 48 {
		a := w.acc
		w.out = append(w.out, byte(a), byte(a>>8), byte(a>>16), byte(a>>24), byte(a>>32), byte(a>>40))
		w.acc >>= 48
		w.nacc -= 48
	}
}

func (w *bitWriter) flush() {
	for ; w.nacc > 0; w.nacc -= min(w.nacc, 8) {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
	}
	w.acc = 0
}

// huffman returns code lengths of at most limit bits for the counts (a
// symbol counted 0 gets none), at least two symbols having a code so that
// the code is complete; and the codes themselves, bit-reversed for writing.
func huffman(counts []int, limit int) (lengths []uint8, codes []uint16) {
	freq := slices.Clone(counts)
	used := 0
	for _, f := range freq {
		if f > 0 {
			used++
		}
	}
	for i := 0; used < 2; i++ { // at least two codes
		if freq[i] == 0 {
			freq[i] = 1
			used++
		}
	}
	for {
		lengths = treeLengths(freq)
		if slices.Max(lengths) <= uint8(limit) {
			break
		}
		// Flatten the counts until the tree is shallow enough.
		for i := range freq {
			if freq[i] > 0 {
				freq[i] = (freq[i] + 1) / 2
			}
		}
	}
	// Canonical codes (RFC 1951 §3.2.2).
	var count [16]int
	for _, l := range lengths {
		if l > 0 {
			count[l]++
		}
	}
	var next [16]int
	code := 0
	for b := 1; b < 16; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	codes = make([]uint16, len(lengths))
	for i, l := range lengths {
		if l > 0 {
			c := next[l]
			next[l]++
			var r uint16
			for k := uint8(0); k < l; k++ {
				r = r<<1 | uint16(c>>k&1)
			}
			codes[i] = r
		}
	}
	return lengths, codes
}

// treeLengths returns each symbol's depth in a Huffman tree of freq: the
// leaves sorted once, the merged nodes in a queue (their weights come in
// order), the two lightest of either joined each time.
func treeLengths(freq []int) []uint8 {
	type node struct{ w, parent int }
	var nodes []node // leaves, then merged nodes
	var syms []int
	for s, f := range freq {
		if f > 0 {
			syms = append(syms, s)
		}
	}
	slices.SortStableFunc(syms, func(a, b int) int { return freq[a] - freq[b] })
	for _, s := range syms {
		nodes = append(nodes, node{w: freq[s], parent: -1})
	}
	leaves := len(nodes)
	li, qi := 0, leaves // next leaf, next merged node
	take := func() int {
		if li < leaves && (qi >= len(nodes) || nodes[li].w <= nodes[qi].w) {
			li++
			return li - 1
		}
		qi++
		return qi - 1
	}
	for range leaves - 1 {
		a, b := take(), take()
		nodes = append(nodes, node{w: nodes[a].w + nodes[b].w, parent: -1})
		nodes[a].parent, nodes[b].parent = len(nodes)-1, len(nodes)-1
	}
	// Depths, from the root (the last node) down: a parent comes after
	// its children.
	depth := make([]uint8, len(nodes))
	for i := len(nodes) - 2; i >= 0; i-- {
		depth[i] = depth[nodes[i].parent] + 1
	}
	lengths := make([]uint8, len(freq))
	for i, s := range syms {
		lengths[s] = max(depth[i], 1)
	}
	return lengths
}

// zlibStream returns the zlib stream (RFC 1950) of z's tokens, whose
// uncompressed bytes have the Adler-32 sum adler: one final deflate block
// with its own Huffman codes.
func (z *deflater) zlibStream(adler uint32) []byte {
	z.lit[256]++ // end of block
	litLen, litCode := huffman(z.lit[:], 15)
	dLen, dCode := huffman(z.dist[:], 15)
	nlit, ndist := 257, 1
	for i, l := range litLen {
		if l > 0 {
			nlit = max(nlit, i+1)
		}
	}
	for i, l := range dLen {
		if l > 0 {
			ndist = max(ndist, i+1)
		}
	}
	all := append(slices.Clone(litLen[:nlit]), dLen[:ndist]...)
	var clCount [19]int
	for _, l := range all {
		clCount[l]++
	}
	clLen, clCode := huffman(clCount[:], 7)
	nclen := 4
	for i, s := range clOrder {
		if clLen[s] > 0 {
			nclen = max(nclen, i+1)
		}
	}

	w := &bitWriter{out: make([]byte, 0, 2048)}
	w.out = append(w.out, 0x78, 0x01) // deflate, 32 kB window; no dictionary, fastest
	w.bits(1, 1)                      // final block
	w.bits(2, 2)                      // dynamic Huffman codes
	w.bits(uint64(nlit-257), 5)
	w.bits(uint64(ndist-1), 5)
	w.bits(uint64(nclen-4), 4)
	for _, s := range clOrder[:nclen] {
		w.bits(uint64(clLen[s]), 3)
	}
	for _, l := range all {
		w.bits(uint64(clCode[l]), uint(clLen[l]))
	}
	for _, t := range z.tokens {
		if t < 1<<31 {
			w.bits(uint64(litCode[t]), uint(litLen[t]))
			continue
		}
		length, dist := int(t>>16&0x7fff), int(t&0xffff)
		lc := lengthCode(length)
		w.bits(uint64(litCode[257+lc]), uint(litLen[257+lc]))
		w.bits(uint64(length-int(lengthBase[lc])), uint(lengthExtra[lc]))
		dc := distCode(dist)
		w.bits(uint64(dCode[dc]), uint(dLen[dc]))
		w.bits(uint64(dist-int(distBase[dc])), uint(distExtra[dc]))
	}
	w.bits(uint64(litCode[256]), uint(litLen[256]))
	w.flush()
	return binary.BigEndian.AppendUint32(w.out, adler)
}
