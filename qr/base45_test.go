package qr

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestBase45Vectors(t *testing.T) {
	t.Parallel()
	// RFC 9285 §4.3 and §4.4, plus the edges of a group.
	tests := []struct{ plain, encoded string }{
		{"", ""},
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"\x00", "00"},
		{"\xff", "U5"},
		{"\x00\x00", "000"},
		{"\xff\xff", "FGW"},
	}
	for _, tt := range tests {
		if got := base45Encode([]byte(tt.plain)); got != tt.encoded {
			t.Errorf("encode(%q) = %q, want %q", tt.plain, got, tt.encoded)
		}
		got, err := base45Decode(tt.encoded)
		if err != nil {
			t.Errorf("decode(%q): %v", tt.encoded, err)
		} else if string(got) != tt.plain {
			t.Errorf("decode(%q) = %q, want %q", tt.encoded, got, tt.plain)
		}
	}
}

func TestBase45DecodeRejects(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"A",           // a single character cannot encode a byte
		"BB8A",        // nor can a dangling one
		"GGW",         // 65536: more than two bytes (RFC 9285 §6)
		":::",         // 91124
		"V5",          // 256: more than one byte
		"::",          // 2024
		"bb8",         // lower case is outside the alphabet
		"BB\x00",      // so is NUL
		"BB8\xff\xff", // and high bytes
		"%69 VD92EX",  // truncated vector
		"QED8WE_0",    // underscore
	} {
		if got, err := base45Decode(s); err == nil {
			t.Errorf("decode(%q) = %q, want an error", s, got)
		}
	}
}

func TestBase45RoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		s := base45Encode(b)
		if len(s) != base45EncodedLen(n) {
			t.Fatalf("len(encode(%d bytes)) = %d, want %d", n, len(s), base45EncodedLen(n))
		}
		if strings.Trim(s, base45Alphabet) != "" {
			t.Fatalf("encode(%x) = %q has characters outside the alphabet", b, s)
		}
		got, err := base45Decode(s)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("decode(encode(%x)) = %x, %v", b, got, err)
		}
	}
}

// FuzzBase45 checks that decoding is the exact inverse of encoding: whatever
// decodes re-encodes to the same text, so a token has one spelling.
func FuzzBase45(f *testing.F) {
	for _, s := range []string{"", "BB8", "%69 VD92EX0", "GGW", "FGW", "U5", "V5", "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := base45Decode(s)
		if err != nil {
			return
		}
		if got := base45Encode(b); got != s {
			t.Fatalf("encode(decode(%q)) = %q", s, got)
		}
	})
}
