package qr

import (
	"bytes"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	"rsc.io/qr/coding"
)

// The mask is chosen from one encoding (mask.go) exactly as from eight: for
// texts of every mode and of lengths that reach versions 1 to 40, the symbol
// (version, mask, every module) is the reference renderer's.
func TestMaskChoiceMatchesReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	const alpha = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	var texts []string
	for _, n := range []int{1, 5, 17, 40, 77, 120, 180, 262, 300, 420, 600, 900, 1300, 1800, 2400, 2500, 3400, 3990, 4200} {
		var b strings.Builder
		for range n {
			b.WriteByte(alpha[rng.IntN(len(alpha))])
		}
		texts = append(texts, b.String())
		digits := strings.Map(func(r rune) rune { return '0' + r%10 }, b.String())
		texts = append(texts, digits)
		if n < 2900 {
			texts = append(texts, strings.ToLower(b.String())+"é")
		}
	}
	// Real tokens, one per signing algorithm.
	for _, alg := range algs {
		texts = append(texts, issue(t, testSigner(t, alg, "mask"), testClaims()))
	}
	versions := map[int]bool{}
	for _, text := range texts {
		want, err := refNewCode(text)
		if err != nil {
			continue // too long for a QR code in this mode
		}
		got, err := newCode(text)
		if err != nil {
			t.Fatalf("newCode(%d chars): %v", len(text), err)
		}
		versions[got.VersionNumber] = true
		if got.VersionNumber != want.VersionNumber || got.n != want.n {
			t.Fatalf("newCode(%d chars) is version %d (%d modules), want %d (%d)", len(text), got.VersionNumber, got.n, want.VersionNumber, want.n)
		}
		for i := range want.dark {
			if got.dark[i] != want.dark[i] {
				t.Fatalf("newCode(%d chars, version %d): module (%d, %d) differs from the reference", len(text), got.VersionNumber, i%got.n, i/got.n)
			}
		}
	}
	if !versions[1] || !versions[40] || len(versions) < 12 {
		t.Errorf("versions covered: %v", versions)
	}
}

// Each mask's score from the bit-packed lines is the reference's, for every
// mask of a few symbols (not only the winner's).
func TestMaskScoreMatchesReference(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"HC1:ABC", strings.Repeat("HC1:0123456789$%", 20), issue(t, testSigner(t, AlgES256, "score"), testClaims())} {
		enc := coding.Alpha(text)
		v := coding.Version(coding.MinVersion)
		for enc.Bits(v) > v.DataBytes(level)*8 {
			v++
		}
		diff, err := formOf(v)
		if err != nil {
			t.Fatal(err)
		}
		for m := range 8 {
			p, err := plan(v, coding.Mask(m))
			if err != nil {
				t.Fatal(err)
			}
			c, err := p.Encode(enc)
			if err != nil {
				t.Fatal(err)
			}
			n := c.Size
			rows, cols := make([]line, n), make([]line, n)
			for y := range n {
				for x := range n {
					if c.Black(x, y) {
						rows[y].set(pad + x)
						cols[x].set(pad + y)
					}
				}
			}
			if got, want := maskScore(rows, cols, n), refPenalty(c); got != want {
				t.Errorf("version %d mask %d: maskScore = %d, refPenalty = %d", v, m, got, want)
			}
			// And the mask's difference turns mask 0's form into this one.
			p0, _ := plan(v, 0)
			c0, _ := p0.Encode(enc)
			for y := range n {
				for x := range n {
					if c0.Black(x, y) != diff.rows[m][y].has(pad+x) != c.Black(x, y) {
						t.Fatalf("version %d mask %d: module (%d, %d) is not mask 0's XOR the difference", v, m, x, y)
					}
				}
			}
		}
	}
}

func BenchmarkNewCodeReference(b *testing.B) {
	tok := issue(b, testSigner(b, AlgEd25519, "png"), testClaims())
	for b.Loop() {
		if _, err := refNewCode(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewCode(b *testing.B) {
	tok := issue(b, testSigner(b, AlgEd25519, "png"), testClaims())
	for b.Loop() {
		if _, err := newCode(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// writePNG's image is the reference's pixel for pixel (decoded by
// image/png, whose zlib reader checks the stream and its Adler-32), at
// scales below, at and above a byte per module, for symbols of several
// versions, and no more than half as large again (at 384 pixels a token's
// image is within a few per cent).
func TestWritePNGMatchesReference(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"HC1:A", strings.Repeat("HC1:0123456789$%", 20), issue(t, testSigner(t, AlgEd25519, "png"), testClaims()),
		strings.Repeat("HC1:0123456789$%", 140)} {
		q, err := newCode(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, scale := range []int{1, 2, 3, 5, 6, 7, 8, 9, 13, 16, 17, 60} {
			if q.n*scale > 4096 {
				continue
			}
			want, err := refWritePNG(q, scale)
			if err != nil {
				t.Fatal(err)
			}
			got, err := writePNG(q, scale)
			if err != nil {
				t.Fatal(err)
			}
			wi, err := png.Decode(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			gi, err := png.Decode(bytes.NewReader(got))
			if err != nil {
				t.Fatalf("version %d at scale %d: %v", q.VersionNumber, scale, err)
			}
			if gi.Bounds() != wi.Bounds() {
				t.Fatalf("version %d at scale %d: %v, want %v", q.VersionNumber, scale, gi.Bounds(), wi.Bounds())
			}
			b := wi.Bounds()
		pixels:
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					if gi.At(x, y) != wi.At(x, y) {
						t.Errorf("version %d at scale %d: pixel (%d, %d) differs from the reference", q.VersionNumber, scale, x, y)
						break pixels
					}
				}
			}
			if len(got) > len(want)*3/2+64 {
				t.Errorf("version %d at scale %d: %d bytes, the reference %d", q.VersionNumber, scale, len(got), len(want))
			}
		}
	}
}

func BenchmarkWritePNGReference(b *testing.B) {
	q, _ := newCode(issue(b, testSigner(b, AlgEd25519, "png"), testClaims()))
	for b.Loop() {
		if _, err := refWritePNG(q, 6); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritePNG(b *testing.B) {
	q, _ := newCode(issue(b, testSigner(b, AlgEd25519, "png"), testClaims()))
	for b.Loop() {
		if _, err := writePNG(q, 6); err != nil {
			b.Fatal(err)
		}
	}
}
