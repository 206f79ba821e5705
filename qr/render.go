package qr

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	_ "image/jpeg" // DecodeImage reads photos
	_ "image/png"  // and screenshots
	"io"
	"strconv"
	"sync"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"rsc.io/qr/coding"

	"healthcode"
)

// level is the QR error-correction level: Q (about 25% of the symbol may be
// lost), as the EU DCC recommends for codes shown on cracked phone screens.
const level = coding.Q

// quietZone is the light border around a symbol, in modules (ISO/IEC 18004).
const quietZone = 4

// Limits on images handed to DecodeImage.
const (
	maxImageBytes  = 20 << 20
	maxImagePixels = 25_000_000
)

// A symbol is a QR code's modules, quiet zone included: a citizen's image
// is drawn from one per issued code, so making one is on the path of every
// first request (rsc.io/qr/coding encodes; the plan of each version and
// mask is built once, and the mask is chosen by the standard's penalty).
type symbol struct {
	VersionNumber int
	n             int    // modules per side, quiet zone included
	dark          []bool // n*n, row by row
}

// Bitmap returns the modules row by row (true is dark).
func (s *symbol) Bitmap() [][]bool {
	rows := make([][]bool, s.n)
	for y := range rows {
		rows[y] = s.dark[y*s.n : (y+1)*s.n]
	}
	return rows
}

var plans sync.Map // planKey → *coding.Plan

type planKey struct {
	v coding.Version
	m coding.Mask
}

func plan(v coding.Version, m coding.Mask) (*coding.Plan, error) {
	if p, ok := plans.Load(planKey{v, m}); ok {
		return p.(*coding.Plan), nil
	}
	p, err := coding.NewPlan(v, level, m)
	if err != nil {
		return nil, err
	}
	plans.Store(planKey{v, m}, p)
	return p, nil
}

func newCode(text string) (*symbol, error) {
	bad := func(err error) error { return healthcode.Errorfd(healthcode.EINVALID, "qr.render", "QR code: %v", err) }
	// The densest single mode: a token, base45 behind an alphanumeric
	// prefix, is encoded whole in alphanumeric mode.
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
			return nil, bad(fmt.Errorf("%d characters do not fit in a QR code", len(text)))
		}
	}
	rows, _, err := bestMask(v, enc)
	if err != nil {
		return nil, bad(err)
	}
	s := &symbol{VersionNumber: int(v), n: len(rows) + 2*quietZone}
	s.dark = make([]bool, s.n*s.n)
	for y, r := range rows {
		for p := range s.n { // bit p of a line is column p of the symbol
			s.dark[(y+quietZone)*s.n+p] = r.has(p)
		}
	}
	return s, nil
}

// PNG renders text as a black-on-white QR code at least size pixels square
// (1 to 4096): the smallest whole number of pixels per module that reaches
// it. The image is written at one bit per pixel, each pixel row that
// repeats the one above filtered to zeros ("Up") and compressed by
// compress/zlib at its fastest level: about 1.8 kB at 384 pixels (the best
// compression of the unfiltered rows saves 0.4 kB at many times the cost).
func PNG(text string, size int) ([]byte, error) {
	if size < 1 || size > 4096 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.render", "image size %d is not between 1 and 4096", size)
	}
	q, err := newCode(text)
	if err != nil {
		return nil, err
	}
	// Whole pixels per module: a fractional scale blurs module edges, and
	// cheap camera decoders then misread the format information.
	scale := max(1, (size+q.n-1)/q.n)
	b, err := writePNG(q, scale)
	if err != nil {
		return nil, fmt.Errorf("qr.PNG: %w", err)
	}
	return b, nil
}

// writePNG writes q at scale pixels per module as a 1-bit greyscale PNG:
// each module row's first pixel row unfiltered, the scale-1 rows that
// repeat it filtered Up (all zeros, which the compressor turns into a copy
// of the row before), through compress/zlib at its fastest level (pooled
// writers): about 1.8 kB at 384 px.
func writePNG(q *symbol, scale int) ([]byte, error) {
	w := q.n * scale
	rowBytes := (w + 7) / 8
	var idat bytes.Buffer
	zw := pngWriters.Get().(*zlib.Writer)
	defer pngWriters.Put(zw)
	zw.Reset(&idat)
	row := make([]byte, 1+rowBytes) // filter None, then the pixels (1 is white)
	up := make([]byte, (scale-1)*(1+rowBytes))
	for i := 0; i < len(up); i += 1 + rowBytes {
		up[i] = 2 // filter Up, pixels all zeros: the row above again
	}
	light := byte(0xff)
	for y := range q.n {
		// Each module is scale bits, at most a byte at a time.
		clear(row)
		var acc uint16
		nbits, o := 0, 1
		for _, dark := range q.dark[y*q.n : (y+1)*q.n] {
			bits := light
			if dark {
				bits = 0
			}
			for left := scale; left > 0; {
				take := min(left, 8)
				left -= take
				acc = acc<<take | uint16(bits>>(8-take))
				nbits += take
				if nbits >= 8 {
					nbits -= 8
					row[o] = byte(acc >> nbits)
					o++
				}
			}
		}
		if nbits > 0 {
			row[o] = byte(acc << (8 - nbits))
		}
		if _, err := zw.Write(row); err != nil {
			return nil, err
		}
		if _, err := zw.Write(up); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(idat.Len() + 64)
	out.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(w))
	ihdr[8], ihdr[9] = 1, 0 // bit depth 1, greyscale; compression, filter and interlace 0
	chunk(&out, "IHDR", ihdr[:])
	chunk(&out, "IDAT", idat.Bytes())
	chunk(&out, "IEND", nil)
	return out.Bytes(), nil
}

var pngWriters = sync.Pool{New: func() any {
	zw, _ := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
	return zw
}}

func chunk(out *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	out.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	out.WriteString(typ)
	out.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	out.Write(n[:])
}

// svgTitle names the image for screen readers; the page around it says the
// colour in words.
const svgTitle = "健康码二维码 Health code QR code"

// SVG renders text as a QR code in SVG, one module per user unit (quiet
// zone included), with a <title> for screen readers. It scales to any size
// without blurring; set its width with CSS.
func SVG(text string) ([]byte, error) {
	q, err := newCode(text)
	if err != nil {
		return nil, err
	}
	bm := q.Bitmap()
	n := strconv.Itoa(len(bm))
	var b bytes.Buffer
	b.Grow(64 * len(bm) * 4)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 ` + n + " " + n +
		`" width="` + strconv.Itoa(4*len(bm)) + `" height="` + strconv.Itoa(4*len(bm)) + `" shape-rendering="crispEdges">`)
	b.WriteString("<title>" + svgTitle + "</title>")
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="`)
	// One subpath per horizontal run of dark modules keeps the file small.
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}

// DecodeImage finds a QR code in a PNG or JPEG image and returns its text.
// It returns EINVALID (detail "qr.image") if the image is unreadable, too
// large, or holds no readable QR code.
func DecodeImage(r io.Reader) (text string, err error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImageBytes+1))
	if err != nil {
		return "", fmt.Errorf("qr.DecodeImage: %w", err)
	}
	if len(data) > maxImageBytes {
		return "", badImage("image is larger than %d bytes", maxImageBytes)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", badImage("reading image: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxImagePixels {
		return "", badImage("image of %d×%d pixels is too large", cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", badImage("reading image: %v", err)
	}
	// gozxing is a port of Java code that signals some failures by indexing
	// out of range; an odd photo must give an error, not kill the process.
	defer func() {
		if p := recover(); p != nil {
			text, err = "", badImage("QR decoder failed: %v", p)
		}
	}()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", badImage("%v", err)
	}
	// A screenshot or a saved PNG is a "pure" code, square to the image:
	// read it as such first, which does not depend on finding the finder
	// patterns; a photograph needs the general detector.
	reader := zxqr.NewQRCodeReader()
	res, err := reader.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		res, err = reader.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	}
	if err != nil {
		return "", badImage("no QR code found: %v", err)
	}
	return res.GetText(), nil
}

func badImage(format string, args ...any) error {
	return healthcode.Errorfd(healthcode.EINVALID, "qr.image", format, args...)
}
