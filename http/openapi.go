package http

import (
	_ "embed"
	"net/http"

	"healthcode"
)

// openAPI is the API's description. A test checks it against routes().
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err := w.Write(openAPI)
	return err
}
