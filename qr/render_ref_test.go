package qr

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"rsc.io/qr/coding"
)

// The renderer as it was before masks were chosen from one encoding and
// scored on bit-packed lines (mask.go): eight encodings, each scored module
// by module. Kept as the reference the faster one must agree with, symbol
// for symbol.

func refNewCode(text string) (*symbol, error) {
	var enc coding.Encoding
	switch {
	case coding.Num(text).Check() == nil:
		enc = coding.Num(text)
	case coding.Alpha(text).Check() == nil:
		enc = coding.Alpha(text)
	default:
		enc = coding.String(text)
	}
	v := coding.Version(coding.MinVersion)
	for ; enc.Bits(v) > v.DataBytes(level)*8; v++ {
		if v == coding.MaxVersion {
			return nil, fmt.Errorf("%d characters do not fit in a QR code", len(text))
		}
	}
	var best *coding.Code
	bestScore := 0
	for m := coding.Mask(0); m < 8; m++ {
		p, err := plan(v, m)
		if err != nil {
			return nil, err
		}
		c, err := p.Encode(enc)
		if err != nil {
			return nil, err
		}
		if score := refPenalty(c); best == nil || score < bestScore {
			best, bestScore = c, score
		}
	}
	s := &symbol{VersionNumber: int(v), n: best.Size + 2*quietZone}
	s.dark = make([]bool, s.n*s.n)
	for y := range best.Size {
		for x := range best.Size {
			s.dark[(y+quietZone)*s.n+x+quietZone] = best.Black(x, y)
		}
	}
	return s, nil
}

// refPenalty scores a masked symbol by the four rules of ISO/IEC 18004 §8.8.2
// (runs, 2×2 blocks, finder-like patterns, balance); the lowest wins. It
// runs eight times per first image of a code, so it works on unpacked
// lines with a light margin (outside the symbol is the quiet zone).
func refPenalty(c *coding.Code) int {
	const pad = 4
	n := c.Size
	w := n + 2*pad
	rows := make([]byte, n*w) // 1 is dark; each line padded with light
	cols := make([]byte, n*w) // the same, transposed
	count := 0
	for y := range n {
		bits := c.Bitmap[y*c.Stride:]
		row := rows[y*w+pad:]
		for x := range n {
			if bits[x>>3]&(0x80>>(x&7)) != 0 {
				row[x] = 1
				cols[x*w+pad+y] = 1
				count++
			}
		}
	}
	score := 0
	for k := range n {
		score += refLinePenalty(rows[k*w:(k+1)*w], pad) + refLinePenalty(cols[k*w:(k+1)*w], pad)
	}
	// Rule 2: each 2×2 block of one colour, 3.
	for y := 0; y+1 < n; y++ {
		a, b := rows[y*w+pad:y*w+pad+n], rows[(y+1)*w+pad:(y+1)*w+pad+n]
		for x := 0; x+1 < n; x++ {
			if d := a[x]; a[x+1] == d && b[x] == d && b[x+1] == d {
				score += 3
			}
		}
	}
	// Rule 4: 10 for each 5% the dark share is away from half.
	pct := count * 100 / (n * n)
	return score + 10*(max(pct-50, 50-pct)/5)
}

// finderLike is the 1:1:3:1:1 pattern of rule 3.
var finderLike = [7]byte{1, 0, 1, 1, 1, 0, 1}

// refLinePenalty scores one row or column by rules 1 and 3; line has pad light
// modules on each side (pad ≥ 4).
func refLinePenalty(line []byte, pad int) int {
	score := 0
	// Rule 1: five or more alike in a line, 3 + (length-5).
	run := 1
	for x := pad + 1; x <= len(line)-pad; x++ {
		if x < len(line)-pad && line[x] == line[x-1] {
			run++
			continue
		}
		if run >= 5 {
			score += run - 2
		}
		run = 1
	}
	// Rule 3: the finder-like pattern with four light modules before or
	// after it, 40 each.
	for x := pad; x+7 <= len(line)-pad; x++ {
		if line[x] == 1 && [7]byte(line[x:x+7]) == finderLike &&
			([4]byte(line[x-4:x]) == [4]byte{} || [4]byte(line[x+7:x+11]) == [4]byte{}) {
			score += 40
		}
	}
	return score
}

var zlibWriters = sync.Pool{New: func() any {
	zw, _ := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
	return zw
}}

// refWritePNG is writePNG as it was: a pixel at a time, a write per pixel
// row.
func refWritePNG(q *symbol, scale int) ([]byte, error) {
	w := q.n * scale
	rowBytes := (w + 7) / 8
	var raw bytes.Buffer
	zw := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(zw)
	zw.Reset(&raw)
	row := make([]byte, 1+rowBytes)
	zeros := make([]byte, 1+rowBytes)
	zeros[0] = 2
	for y := range q.n {
		clear(row)
		for x := range q.n {
			if q.dark[y*q.n+x] {
				continue
			}
			for k := x * scale; k < (x+1)*scale; k++ {
				row[1+k/8] |= 0x80 >> (k % 8)
			}
		}
		if _, err := zw.Write(row); err != nil {
			return nil, err
		}
		for range scale - 1 {
			if _, err := zw.Write(zeros); err != nil {
				return nil, err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(w))
	ihdr[8], ihdr[9] = 1, 0
	chunk(&out, "IHDR", ihdr[:])
	chunk(&out, "IDAT", raw.Bytes())
	chunk(&out, "IEND", nil)
	return out.Bytes(), nil
}
