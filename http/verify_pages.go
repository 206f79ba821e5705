package http

import (
	"net/http"

	"healthcode"
)

// verifyPage is the checkpoint verifier: public, and usable offline once
// loaded (static/sw.js keeps it, static/verify.js keeps the trust list).
func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	d := newPage(w, r, "verify.title")
	d.JS = jsMessages(d.Lang)
	d.Scripts = []string{"/static/jsQR.js", "/static/verify.js"}
	return s.render(w, http.StatusOK, "verify.html", d)
}
