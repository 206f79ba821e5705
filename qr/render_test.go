package qr

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPNGRoundTrip(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			s := testSigner(t, alg, "png")
			tr := trustFor(t, "410100", s)
			tok := issue(t, s, testClaims())
			b, err := PNG(tok, 512)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			q, err := newCode(tok)
			if err != nil {
				t.Fatal(err)
			}
			modules := len(q.Bitmap())
			if got := img.Bounds().Size(); got.X != got.Y || got.X < 512 || got.X >= 512+modules || got.X%modules != 0 {
				t.Errorf("PNG is %v, want the smallest square of whole %d-module multiples ≥ 512", got, modules)
			}
			// The PNG as saved, and as a phone camera's JPEG of it.
			var jpg bytes.Buffer
			if err := jpeg.Encode(&jpg, img, &jpeg.Options{Quality: 60}); err != nil {
				t.Fatal(err)
			}
			for name, data := range map[string][]byte{"png": b, "jpeg": jpg.Bytes()} {
				text, err := DecodeImage(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("DecodeImage(%s): %v", name, err)
				}
				if text != tok {
					t.Fatalf("DecodeImage(%s) = %q, want %q", name, text, tok)
				}
				c, err := Verify(text, tr, t0)
				if err != nil {
					t.Fatalf("Verify(decoded %s): %v", name, err)
				}
				if diff := cmp.Diff(testClaims(), c); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRenderRejects(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, -5, 4097} {
		if _, err := PNG("HCN1:X", size); Reason(err) != "qr.render" {
			t.Errorf("PNG(size %d) = %v, want qr.render", size, err)
		}
	}
	long := strings.Repeat("A", 5000)
	if _, err := PNG(long, 256); Reason(err) != "qr.render" {
		t.Errorf("PNG(5000 characters) = %v, want qr.render", err)
	}
	if _, err := SVG(long); Reason(err) != "qr.render" {
		t.Errorf("SVG(5000 characters) = %v, want qr.render", err)
	}
}

// TestTokenFitsAlphanumericMode checks that the whole token is encoded in the
// QR alphanumeric mode: the same number of characters in byte mode needs a
// larger symbol.
func TestTokenFitsAlphanumericMode(t *testing.T) {
	t.Parallel()
	tok := issue(t, testSigner(t, AlgEd25519, "mode"), testClaims())
	q, err := newCode(tok)
	if err != nil {
		t.Fatal(err)
	}
	bytesMode, err := newCode(strings.Repeat("a", len(tok)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("token: %d characters, QR version %d at level Q (byte mode: %d)", len(tok), q.VersionNumber, bytesMode.VersionNumber)
	if q.VersionNumber > 12 || bytesMode.VersionNumber <= q.VersionNumber+2 {
		t.Errorf("token of %d characters gives QR version %d, byte mode %d; want ≤ 12 and 3 versions smaller", len(tok), q.VersionNumber, bytesMode.VersionNumber)
	}
}

type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	ViewBox string   `xml:"viewBox,attr"`
	Role    string   `xml:"role,attr"`
	Title   string   `xml:"title"`
	Path    struct {
		D    string `xml:"d,attr"`
		Fill string `xml:"fill,attr"`
	} `xml:"path"`
}

func TestSVG(t *testing.T) {
	t.Parallel()
	s := testSigner(t, AlgEd25519, "svg")
	tok := issue(t, s, testClaims())
	b, err := SVG(tok)
	if err != nil {
		t.Fatal(err)
	}
	var doc svgDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v\n%s", err, b)
	}
	// encoding/xml is lenient about some things; a strict token walk too.
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("strict XML: %v", err)
			}
			break
		}
	}
	if doc.Title == "" || doc.Role != "img" {
		t.Errorf("title %q role %q; want a title for screen readers and role img", doc.Title, doc.Role)
	}
	var n int
	if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %d %d", &n, &n); err != nil {
		t.Fatalf("viewBox %q: %v", doc.ViewBox, err)
	}
	// Draw the path's modules and read the picture back: the SVG holds the
	// same code, not just some well-formed XML.
	const scale = 8
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, sub := range strings.Split(strings.TrimSuffix(doc.Path.D, "z"), "z") {
		var x, y, run, back int
		if _, err := fmt.Sscanf(sub, "M%d %dh%dv1h-%d", &x, &y, &run, &back); err != nil || run != back {
			t.Fatalf("path segment %q: %v", sub, err)
		}
		for px := x * scale; px < (x+run)*scale; px++ {
			for py := y * scale; py < (y+1)*scale; py++ {
				img.SetGray(px, py, color.Gray{})
			}
		}
	}
	var pngBytes bytes.Buffer
	if err := png.Encode(&pngBytes, img); err != nil {
		t.Fatal(err)
	}
	text, err := DecodeImage(&pngBytes)
	if err != nil {
		t.Fatalf("decoding the SVG's modules: %v", err)
	}
	if text != tok {
		t.Errorf("SVG holds %q, want %q", text, tok)
	}
}

func TestDecodeImageRejects(t *testing.T) {
	t.Parallel()
	blank := image.NewGray(image.Rect(0, 0, 200, 200))
	var blankPNG bytes.Buffer
	png.Encode(&blankPNG, blank)
	var hugeHeader bytes.Buffer // a 100000×100000 PNG header: refused before decoding
	png.Encode(&hugeHeader, image.NewGray(image.Rect(0, 0, 1, 1)))
	huge := hugeHeader.Bytes()
	copy(huge[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	for name, b := range map[string][]byte{
		"empty":           nil,
		"not an image":    []byte("HCN1:ABC"),
		"no QR code":      blankPNG.Bytes(),
		"too many pixels": huge,
		"truncated PNG":   blankPNG.Bytes()[:40],
	} {
		if text, err := DecodeImage(bytes.NewReader(b)); Reason(err) != "qr.image" {
			t.Errorf("DecodeImage(%s) = %q, %v; want qr.image", name, text, err)
		}
	}
}

// TestPNGDecodesForManyTokens: every token's PNG reads back, whatever its
// module pattern (each signature draws a different code).
func TestPNGDecodesForManyTokens(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{AlgEd25519, AlgES256} {
		s := testSigner(t, alg, "many")
		for i := 0; i < 25; i++ {
			c := testClaims()
			c.Subject = fmt.Sprintf("p%d", i*7919)
			tok := issue(t, s, c)
			b, err := PNG(tok, 384)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeImage(bytes.NewReader(b))
			if err != nil || got != tok {
				t.Fatalf("%s token %d: decoded %q, %v", alg, i, got, err)
			}
		}
	}
}
