package qr

import "testing"

// The image a phone fetches stays small: a 384-pixel code in a few kB.
func TestPNGIsSmall(t *testing.T) {
	t.Parallel()
	tok := issue(t, testSigner(t, AlgEd25519, "small"), testClaims())
	b, err := PNG(tok, 384)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 3000 {
		t.Errorf("PNG of 384 pixels is %d bytes, want ≤ 3000", len(b))
	}
}

// The mask penalty's line rules: runs of five or more, and the finder-like
// pattern beside four light modules (outside the symbol is light: the
// quiet zone).
func TestLinePenalty(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line []byte
		want int
	}{
		{[]byte{1, 0, 1, 0, 1, 0}, 0},
		{[]byte{1, 1, 1, 1, 1, 0}, 3},
		{[]byte{0, 0, 0, 0, 0, 0, 0}, 5},
		{[]byte{1, 0, 1, 1, 1, 0, 1}, 40},                         // the margins are light
		{[]byte{1, 1, 0, 1, 1, 1, 0, 1, 1}, 0},                    // dark on both sides
		{[]byte{1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1}, 40},       // light after
		{[]byte{1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1}, 0},        // three light after
		{[]byte{1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1}, 40}, // light before
	} {
		padded := append(append(make([]byte, 4), tt.line...), make([]byte, 4)...)
		if got := refLinePenalty(padded, 4); got != tt.want {
			t.Errorf("refLinePenalty(%v) = %d, want %d", tt.line, got, tt.want)
		}
		var dark line
		for i, b := range tt.line {
			if b == 1 {
				dark.set(pad + i)
			}
		}
		if got := lineScore(dark, span(pad, pad+len(tt.line)), span(0, len(tt.line)+2*pad)); got != tt.want {
			t.Errorf("lineScore(%v) = %d, want %d", tt.line, got, tt.want)
		}
	}
}

func BenchmarkPNGRender(b *testing.B) {
	tok := issue(b, testSigner(b, AlgEd25519, "png"), testClaims())
	for b.Loop() {
		if _, err := PNG(tok, 384); err != nil {
			b.Fatal(err)
		}
	}
}
