package qr

import (
	"math/bits"
	"sync"

	"rsc.io/qr/coding"
)

// Choosing the mask. A symbol's eight masked forms differ only by a pattern
// that depends on the version and mask, not on the data: the data modules
// are XORed with the mask, the format bits name it, the rest is fixed. So a
// code is encoded once (mask 0), and each other form is that XOR the mask's
// difference, kept per version. Each form is scored by the standard's
// penalty on bit-packed lines (a row, or a column of the transpose), a few
// word operations per rule instead of a pass per module.

// line is one row or column of a symbol as bits: bit p is module p-pad,
// with pad light modules on either side (the quiet zone), so that the
// finder-like rule sees the light outside the symbol. Three words hold the
// largest version (177 modules and the pads); a struct, not an array, so
// that the compiler keeps its words in registers.
type line struct{ w0, w1, w2 uint64 }

const pad = quietZone

func (a *line) word(p int) *uint64 {
	switch p >> 6 {
	case 0:
		return &a.w0
	case 1:
		return &a.w1
	}
	return &a.w2
}

func (a *line) set(p int) { *a.word(p) |= 1 << (p & 63) }

func (a *line) has(p int) bool { return *a.word(p)&(1<<(p&63)) != 0 }

func (a line) and(b line) line    { return line{a.w0 & b.w0, a.w1 & b.w1, a.w2 & b.w2} }
func (a line) or(b line) line     { return line{a.w0 | b.w0, a.w1 | b.w1, a.w2 | b.w2} }
func (a line) xor(b line) line    { return line{a.w0 ^ b.w0, a.w1 ^ b.w1, a.w2 ^ b.w2} }
func (a line) andNot(b line) line { return line{a.w0 &^ b.w0, a.w1 &^ b.w1, a.w2 &^ b.w2} }

func (a line) count() int {
	return bits.OnesCount64(a.w0) + bits.OnesCount64(a.w1) + bits.OnesCount64(a.w2)
}

// down moves every bit k places toward 0: bit p of the result is bit p+k
// (0 < k < 64).
func (a line) down(k uint) line {
	return line{a.w0>>k | a.w1<<(64-k), a.w1>>k | a.w2<<(64-k), a.w2 >> k}
}

// up moves every bit k places away from 0: bit p of the result is bit p-k
// (0 < k < 64).
func (a line) up(k uint) line {
	return line{a.w0 << k, a.w1<<k | a.w0>>(64-k), a.w2<<k | a.w1>>(64-k)}
}

// span returns the bits from lo to hi-1.
func span(lo, hi int) line {
	var l line
	for p := lo; p < hi; p++ {
		l.set(p)
	}
	return l
}

// lineScore scores one row or column, dark its dark modules, by rules 1
// and 3 of ISO/IEC 18004 §8.8.2. inside is the symbol's modules, all the
// symbol and its pads.
func lineScore(dark, inside, all line) int {
	score := 0
	// Rule 1: five or more alike in a line, 3 + (length-5). A run of n ≥ 5
	// has n-4 windows of five alike, one of them its first: (n-4) + 2.
	score += runScore(dark) + runScore(inside.andNot(dark))
	// Rule 3: 1:1:3:1:1 (dark, light, three dark, light, dark) with four
	// light modules before or after it, the pads counting as light, 40 each.
	light := all.andNot(dark)
	finder := dark.and(light.down(1)).and(dark.down(2)).and(dark.down(3)).and(dark.down(4)).and(light.down(5)).and(dark.down(6))
	if finder != (line{}) {
		before := light.up(1).and(light.up(2)).and(light.up(3)).and(light.up(4))
		after := light.down(7).and(light.down(8)).and(light.down(9)).and(light.down(10))
		score += 40 * finder.and(before.or(after)).count()
	}
	return score
}

// runScore is rule 1 for the modules of one colour, x.
func runScore(x line) int {
	five := x.and(x.down(1)).and(x.down(2)).and(x.down(3)).and(x.down(4))
	if five == (line{}) {
		return 0
	}
	return five.count() + 2*five.andNot(x.up(1)).count()
}

// maskScore is the penalty of a symbol of n modules a side given as its rows
// and columns: the lowest wins.
func maskScore(rows, cols []line, n int) int {
	inside, all := span(pad, pad+n), span(0, n+2*pad)
	score, dark := 0, 0
	for i := range n {
		score += lineScore(rows[i], inside, all) + lineScore(cols[i], inside, all)
		dark += rows[i].count()
	}
	// Rule 2: each 2×2 block of one colour, 3.
	for y := 0; y+1 < n; y++ {
		d := rows[y].and(rows[y+1])
		l := inside.andNot(rows[y]).andNot(rows[y+1])
		score += 3 * (d.and(d.down(1)).count() + l.and(l.down(1)).count())
	}
	// Rule 4: 10 for each 5% the dark share is away from half.
	pct := dark * 100 / (n * n)
	return score + 10*(max(pct-50, 50-pct)/5)
}

// maskDiff is, for one version, what turns the mask-0 form of any symbol
// into each other mask's: rows and columns to XOR.
type maskDiff struct {
	rows, cols [8][]line
}

var maskDiffs sync.Map // coding.Version → *maskDiff

func diffFor(v coding.Version) (*maskDiff, error) {
	if d, ok := maskDiffs.Load(v); ok {
		return d.(*maskDiff), nil
	}
	var fixed [8][][]coding.Pixel
	for m := range fixed {
		p, err := plan(v, coding.Mask(m))
		if err != nil {
			return nil, err
		}
		fixed[m] = p.Pixel
	}
	n := len(fixed[0])
	d := &maskDiff{}
	for m := range 8 {
		d.rows[m], d.cols[m] = make([]line, n), make([]line, n)
		for y := range n {
			for x := range n {
				// What Encode starts from before the data: the function
				// patterns, format bits and mask.
				if (fixed[m][y][x]^fixed[0][y][x])&coding.Black != 0 {
					d.rows[m][y].set(pad + x)
					d.cols[m][x].set(pad + y)
				}
			}
		}
	}
	maskDiffs.Store(v, d)
	return d, nil
}

// bestMask encodes enc at version v and returns the rows of the masked form
// with the lowest penalty (the first such mask, in order), and its mask.
func bestMask(v coding.Version, enc coding.Encoding) ([]line, coding.Mask, error) {
	p, err := plan(v, 0)
	if err != nil {
		return nil, 0, err
	}
	c, err := p.Encode(enc)
	if err != nil {
		return nil, 0, err
	}
	diff, err := diffFor(v)
	if err != nil {
		return nil, 0, err
	}
	n := c.Size
	rows0, cols0 := make([]line, n), make([]line, n)
	for y := range n {
		b := c.Bitmap[y*c.Stride:]
		for x := range n {
			if b[x>>3]&(0x80>>(x&7)) != 0 {
				rows0[y].set(pad + x)
				cols0[x].set(pad + y)
			}
		}
	}
	rows, cols := make([]line, n), make([]line, n)
	best, bestScore := coding.Mask(0), 0
	for m := range 8 {
		for i := range n {
			rows[i], cols[i] = rows0[i].xor(diff.rows[m][i]), cols0[i].xor(diff.cols[m][i])
		}
		if score := maskScore(rows, cols, n); m == 0 || score < bestScore {
			best, bestScore = coding.Mask(m), score
		}
	}
	for i := range n {
		rows[i] = rows0[i].xor(diff.rows[best][i])
	}
	return rows, best, nil
}
