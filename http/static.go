package http

// The pages' embedded assets (CSS, scripts), served compressed when the
// browser accepts it.

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"healthcode"
)

//go:embed static
var staticFS embed.FS

// staticTypes are the content types of the embedded assets.
var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
	".svg": "image/svg+xml",
}

// gzipped holds the compressed assets, made on first request.
var gzipped sync.Map // name → []byte

func serveStatic(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	name := path.Clean(r.PathValue("file"))
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_asset", "no asset %q", name)
	}
	h := w.Header()
	if ct, ok := staticTypes[path.Ext(name)]; ok {
		h.Set("Content-Type", ct)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=3600")
	if name == "sw.js" {
		// The service worker controls /verify, above its own directory,
		// and must be rechecked on every load to pick up a new version.
		h.Set("Service-Worker-Allowed", "/")
		h.Set("Cache-Control", "no-cache")
	}
	h.Add("Vary", "Accept-Encoding")
	if len(b) > 1024 && acceptsGzip(r) {
		z, err := gzipAsset(name, b)
		if err != nil {
			return err
		}
		h.Set("Content-Encoding", "gzip")
		b = z
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(b)
	return err
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(enc, "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func gzipAsset(name string, b []byte) ([]byte, error) {
	if z, ok := gzipped.Load(name); ok {
		return z.([]byte), nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("http.gzipAsset: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("http.gzipAsset: %w", err)
	}
	z, _ := gzipped.LoadOrStore(name, buf.Bytes())
	return z.([]byte), nil
}
