package http

// Logging in and out of the pages, and who the caller of a page is.

import (
	"net/http"
	"strings"

	"healthcode"
)

// sessionPrincipal authenticates the session cookie, if any. stale reports
// a cookie that no longer authenticates.
func (s *Server) sessionPrincipal(r *http.Request) (*healthcode.Principal, bool) {
	if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
		return nil, false
	}
	// A cookie is a credential too: guesses count against the address,
	// and an address that failed too often gets no answer to its next.
	if s.checkLogin(r) != nil {
		return nil, true
	}
	p, err := s.cookieCaller(r)
	if err != nil {
		if healthcode.ErrorCode(err) == healthcode.EUNAUTHORIZED {
			s.loginFailed(r)
		}
		return nil, true
	}
	return p, false
}

// pageCaller is the caller of a page: the bearer token's principal, else
// the session cookie's. A cookie that no longer authenticates is cleared
// and reported as stale.
func (s *Server) pageCaller(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) (*healthcode.Principal, bool) {
	if p != nil {
		return p, false
	}
	p, stale := s.sessionPrincipal(r)
	if stale {
		clearSession(w, r)
	}
	return p, stale
}

// loginForm shows the login form on a page that needs another caller;
// next is where it leads back to, notice why it is shown. A stale session
// says so (401); otherwise the form is the page (200).
func (s *Server) loginForm(w http.ResponseWriter, d *pageData, stale bool, next, notice string) error {
	d.Title, d.Next, d.Notice = "login.title", next, notice
	status := http.StatusOK
	if stale {
		d.Notice, status = "login.session_ended", http.StatusUnauthorized
	}
	return s.render(w, status, "login.html", d)
}

// login checks the token of the login form and starts a session. The
// form's origin and type are checked for every route (serve); an address
// that failed too often is refused before its token is looked at, and
// every bad token counts against it.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	if err := s.checkLogin(r); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	next := safeNext(r.PostForm.Get("next"))
	p, err := s.Auth.Authenticate(r.Context(), tok)
	if healthcode.ErrorCode(err) == healthcode.EUNAUTHORIZED {
		s.loginFailed(r)
	}
	if err != nil || p.Role != healthcode.RoleCitizen && staffHome(p.Role) == "" {
		d := newPage(w, r, "login.title")
		d.Path, d.Error, d.Next = "/", "login.bad", next
		return s.render(w, http.StatusUnauthorized, "login.html", d)
	}
	if err := s.startSession(w, r, tok); err != nil {
		return err
	}
	next = landing(p.Role, next)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// safeNext returns where a login may lead back to: one of the pages, never
// another site; "" for anything else.
func safeNext(next string) string {
	switch next {
	case "/", "/c", "/venue", "/console", "/dashboard", "/export", "/admin", "/lab", "/sample":
		return next
	}
	if id, ok := strings.CutPrefix(next, "/venue/"); ok {
		id = strings.TrimSuffix(id, "/print")
		if venueIDPattern.MatchString(id) {
			return next
		}
	}
	return ""
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	s.endSession(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
