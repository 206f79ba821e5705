package qr

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeImage reads photos
	_ "image/png"  // and screenshots
	"io"
	"strconv"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/skip2/go-qrcode"

	"healthcode"
)

// level is the QR error-correction level: Q (about 25% of the symbol may be
// lost), as the EU DCC recommends for codes shown on cracked phone screens.
// go-qrcode calls Q "High".
const level = qrcode.High

// Limits on images handed to DecodeImage.
const (
	maxImageBytes  = 20 << 20
	maxImagePixels = 25_000_000
)

func newCode(text string) (*qrcode.QRCode, error) {
	// go-qrcode picks the densest mode for each segment: a token, being
	// base45 behind an alphanumeric prefix, is encoded whole in
	// alphanumeric mode.
	q, err := qrcode.New(text, level)
	if err != nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "qr.render", "QR code: %v", err)
	}
	return q, nil
}

// PNG renders text as a black-on-white QR code at least size pixels square
// (1 to 4096): the smallest whole number of pixels per module that reaches it.
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
	n := len(q.Bitmap())
	scale := max(1, (size+n-1)/n)
	b, err := q.PNG(-scale)
	if err != nil {
		return nil, fmt.Errorf("qr.PNG: %w", err)
	}
	return b, nil
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
