package http

import (
	"bytes"
	"testing"

	"healthcode"
)

// TestQRImageRenderedOncePerCode: the same code's image is the same bytes
// from the cache, and when every render slot is busy a new render is
// refused at once with 503, its reason and Retry-After, while the cached
// image and /healthz are still served.
func TestQRImageRenderedOncePerCode(t *testing.T) {
	f := newFixture(t)
	tok := f.tokens[healthcode.RoleCitizen]
	first := f.do(t, "GET", "/api/v1/me/qr.png", tok, "", nil)
	if first.status != 200 || first.header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %s", first.status, first.body)
	}
	// Every render slot taken, as by a burst of cold requests.
	for range cap(f.srv.renders.slots) {
		f.srv.renders.slots <- struct{}{}
	}
	defer func() {
		for range cap(f.srv.renders.slots) {
			<-f.srv.renders.slots
		}
	}()
	again := f.do(t, "GET", "/api/v1/me/qr.png", tok, "", nil)
	if again.status != 200 || !bytes.Equal(again.body, first.body) {
		t.Fatalf("the cached image with every render slot busy: %d (same bytes: %v)", again.status, bytes.Equal(again.body, first.body))
	}
	cold := f.do(t, "GET", "/api/v1/me/qr.png?size=512", tok, "", nil)
	if cold.status != 503 || cold.problem(t).Reason != "http.busy" || cold.header.Get("Retry-After") == "" {
		t.Fatalf("a new render with every slot busy: %d %s (Retry-After %q), want 503 http.busy with Retry-After", cold.status, cold.body, cold.header.Get("Retry-After"))
	}
	if h := f.do(t, "GET", "/healthz", "", "", nil); h.status != 200 {
		t.Fatalf("/healthz with every render slot busy: %d", h.status)
	}
}
