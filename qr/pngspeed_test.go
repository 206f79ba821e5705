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

// Each mask's penalty is scored; a symbol with a long run scores more than
// one without.
func TestLinePenalty(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line []byte
		want int
	}{
		{[]byte{1, 0, 1, 0, 1, 0}, 0},
		{[]byte{1, 1, 1, 1, 1, 0}, 3},
		{[]byte{0, 0, 0, 0, 0, 0, 0}, 5},
		{[]byte{0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1}, 40 + 0},
		{[]byte{1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0}, 40},
		{[]byte{1, 0, 1, 1, 1, 0, 1, 0, 0, 0}, 0},
	} {
		if got := linePenalty(tt.line); got != tt.want {
			t.Errorf("linePenalty(%v) = %d, want %d", tt.line, got, tt.want)
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
