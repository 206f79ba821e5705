package http

import (
	"context"
	"net/http"
	"time"

	"healthcode"
)

// Page sessions. The cookie holds a random session id, never the bearer
// token: the node stores only the id's hash, with the token it was opened
// with and an expiry (engine.StartSession), so logging out ends the session
// for good (a replayed id is refused), and revoking or the expiry of the
// token ends it too. Why a small table of our own rather than
// alexedwards/scs: a session here is nothing but "this id speaks for that
// token until then" — no session data to encode, no per-request save — and
// it must end in the same transaction that revokes its token and vanish with
// the citizen's tokens at sunset; scs would add a second store with its own
// schema and cleanup goroutine for one column.

// sessionCookie holds a page session's id.
const sessionCookie = "hc_session"

// SessionStore opens, reads and ends page sessions; engine.Engine is one.
type SessionStore interface {
	// StartSession opens a session for the holder of token and returns its
	// id, the caller and when it ends.
	StartSession(ctx context.Context, token string) (id string, p *healthcode.Principal, expires time.Time, err error)
	// SessionPrincipal returns the caller of a session; EUNAUTHORIZED if it
	// is unknown, ended or expired, or its token no longer is usable.
	SessionPrincipal(ctx context.Context, id string) (*healthcode.Principal, error)
	// EndSession ends a session.
	EndSession(ctx context.Context, id string) error
}

// sessions is the server's session store: its authenticator, if it keeps
// sessions.
func (s *Server) sessions() SessionStore {
	ss, _ := s.Auth.(SessionStore)
	return ss
}

// cookieCaller is the caller of the request's session cookie: nil and no
// error without a cookie, EUNAUTHORIZED for one that no longer authenticates.
func (s *Server) cookieCaller(r *http.Request) (*healthcode.Principal, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	ss := s.sessions()
	if ss == nil {
		return nil, healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.session", "this node keeps no page sessions")
	}
	return ss.SessionPrincipal(r.Context(), c.Value)
}

// startSession opens a session for token and sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, token string) error {
	ss := s.sessions()
	if ss == nil {
		return healthcode.Errorfd(healthcode.EUNAVAILABLE, "auth.session", "this node keeps no page sessions")
	}
	id, _, expires, err := ss.StartSession(r.Context(), token)
	if err != nil {
		return err
	}
	maxAge := int(expires.Sub(s.Clock.Now()).Seconds())
	if maxAge < 1 {
		maxAge = 1
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil, MaxAge: maxAge})
	return nil
}

// endSession ends the request's session, if any, and clears its cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if ss := s.sessions(); ss != nil {
			ss.EndSession(r.Context(), c.Value) // an unknown session is ended already
		}
	}
	clearSession(w, r)
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}
