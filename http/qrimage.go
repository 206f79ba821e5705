package http

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"healthcode"
)

// A citizen's QR image is rendered once per issued code and size, and kept
// with the cached code (dropped with it when the code changes): a phone that
// refreshes its image costs a map look-up, not a render. Renders themselves
// pass an admission limit: at most a few at once (they are CPU-bound, so
// more would only slow each), and a request that cannot start one within
// renderWait is refused with 503 and Retry-After instead of queueing, so
// that /healthz, the pages and cached images stay fast under any load.

const (
	defaultQRSize = 384
	// qrImageSizes bounds the sizes kept per code (a client asking many
	// sizes replaces the oldest rather than growing the cache).
	qrImageSizes = 4
	renderWait   = 250 * time.Millisecond
)

type qrImages struct {
	mu  sync.Mutex
	png []sizedPNG
	svg []byte
}

type sizedPNG struct {
	size int
	b    []byte
}

func (q *qrImages) getPNG(size int) []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range q.png {
		if p.size == size {
			return p.b
		}
	}
	return nil
}

func (q *qrImages) putPNG(size int, b []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.png) == qrImageSizes {
		q.png = q.png[1:]
	}
	q.png = append(q.png, sizedPNG{size, b})
}

// renderSlots admits renders: as many at once as there are cores.
type renderSlots struct {
	slots chan struct{}
}

func newRenderSlots() *renderSlots {
	return &renderSlots{slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
}

// admit takes a render slot within renderWait, or refuses with EUNAVAILABLE
// and a Retry-After. The returned func gives the slot back.
func (rs *renderSlots) admit(ctx context.Context) (func(), error) {
	select {
	case rs.slots <- struct{}{}:
		return func() { <-rs.slots }, nil
	default:
	}
	t := time.NewTimer(renderWait)
	defer t.Stop()
	select {
	case rs.slots <- struct{}{}:
		return func() { <-rs.slots }, nil
	case <-t.C:
		e := healthcode.Errorfd(healthcode.EUNAVAILABLE, "http.busy", "too many images being drawn at once; try again in a moment")
		e.RetryAfter = time.Second
		return nil, e
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Server) myQRPNG(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	size := defaultQRSize
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 128 || n > 2048 {
			return healthcode.Errorfd(healthcode.EINVALID, "qr.size", "size must be an integer between 128 and 2048")
		}
		size = n
	}
	cc, err := s.myCodeCached(r, p.Subject)
	if err != nil {
		return err
	}
	png := cc.images.getPNG(size)
	if png == nil {
		done, err := s.renders.admit(r.Context())
		if err != nil {
			return err
		}
		png, err = s.Signer.PNG(cc.qr, size)
		done()
		if err != nil {
			return err
		}
		cc.images.putPNG(size, png)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, err = w.Write(png)
	return err
}

func (s *Server) myQRSVG(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	cc, err := s.myCodeCached(r, p.Subject)
	if err != nil {
		return err
	}
	cc.images.mu.Lock()
	svg := cc.images.svg
	cc.images.mu.Unlock()
	if svg == nil {
		done, err := s.renders.admit(r.Context())
		if err != nil {
			return err
		}
		svg, err = s.Signer.SVG(cc.qr)
		done()
		if err != nil {
			return err
		}
		cc.images.mu.Lock()
		cc.images.svg = svg
		cc.images.mu.Unlock()
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(svg)
	return err
}
