package qr

import (
	"fmt"
	"math/bits"
	"slices"
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

func (a *line) flip(p int) { *a.word(p) ^= 1 << (p & 63) }

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

// form is, for one version, what every symbol of it starts from and how its
// masked forms differ: the mask-0 form before any data (function patterns,
// format bits, the mask over the data area) as rows and columns, where each
// data and check bit goes, and what turns the mask-0 form into each other
// mask's.
type form struct {
	rows0, cols0 []line
	places       []place
	rows, cols   [8][]line // the differences, by mask
}

// place is a data or check module and the bit of the codewords it shows.
type place struct {
	x, y uint8
	bit  uint16
}

var forms sync.Map // coding.Version → *form

func formOf(v coding.Version) (*form, error) {
	if f, ok := forms.Load(v); ok {
		return f.(*form), nil
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
	f := &form{rows0: make([]line, n), cols0: make([]line, n)}
	for y, row := range fixed[0] {
		for x, pix := range row {
			if pix&coding.Black != 0 {
				f.rows0[y].set(pad + x)
				f.cols0[x].set(pad + y)
			}
			if r := pix.Role(); r == coding.Data || r == coding.Check {
				f.places = append(f.places, place{uint8(x), uint8(y), uint16(pix.Offset())})
			}
		}
	}
	for m := range 8 {
		f.rows[m], f.cols[m] = make([]line, n), make([]line, n)
		for y := range n {
			for x := range n {
				// The same data under another mask: only the mask over
				// the data area and the format bits differ.
				if (fixed[m][y][x]^fixed[0][y][x])&coding.Black != 0 {
					f.rows[m][y].set(pad + x)
					f.cols[m][x].set(pad + y)
				}
			}
		}
	}
	forms.Store(v, f)
	return f, nil
}

// bestMask encodes enc at version v and returns the rows of the masked form
// with the lowest penalty (the first such mask, in order), and its mask:
// what coding.Plan.Encode gives for that mask.
func bestMask(v coding.Version, enc coding.Encoding) ([]line, coding.Mask, error) {
	if err := enc.Check(); err != nil {
		return nil, 0, err
	}
	f, err := formOf(v)
	if err != nil {
		return nil, 0, err
	}
	var b coding.Bits
	enc.Encode(&b, v)
	if max := v.DataBytes(level) * 8; b.Bits() > max {
		return nil, 0, fmt.Errorf("cannot encode %d bits into %d-bit code", b.Bits(), max)
	}
	b.AddCheckBytes(v, level)
	data := b.Bytes()
	n := len(f.rows0)
	rows0, cols0 := slices.Clone(f.rows0), slices.Clone(f.cols0)
	for _, p := range f.places {
		if data[p.bit>>3]&(0x80>>(p.bit&7)) != 0 {
			rows0[p.y].flip(pad + int(p.x))
			cols0[p.x].flip(pad + int(p.y))
		}
	}
	rows, cols := make([]line, n), make([]line, n)
	best, bestScore := coding.Mask(0), 0
	for m := range 8 {
		for i := range n {
			rows[i], cols[i] = rows0[i].xor(f.rows[m][i]), cols0[i].xor(f.cols[m][i])
		}
		if score := maskScore(rows, cols, n); m == 0 || score < bestScore {
			best, bestScore = coding.Mask(m), score
		}
	}
	for i := range n {
		rows[i] = rows0[i].xor(f.rows[best][i])
	}
	return rows, best, nil
}
