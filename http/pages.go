package http

import (
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"path"
	"strings"
	"time"

	"healthcode"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"fmtTime": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
	"fmtTimeP": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Local().Format("2006-01-02 15:04")
	},
}).ParseFS(templateFS, "templates/*.html"))

type pageData struct {
	Title  string
	Error  string
	Code   *MyCodeJSON
	QRSVG  template.HTML
	Colour healthcode.Colour
	Now    time.Time
	Lang   string
}

func (s *Server) render(w http.ResponseWriter, status int, name string, d *pageData) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
	w.WriteHeader(status)
	return templates.ExecuteTemplate(w, name, d)
}

// pageRoutes are the server-rendered pages and their assets.
func (s *Server) pageRoutes() []route {
	return []route{
		{Method: "GET", Path: "/{$}", Page: true, h: s.citizenPage},
		{Method: "POST", Path: "/login", Page: true, h: s.login},
		{Method: "POST", Path: "/logout", Page: true, h: s.logout},
		{Method: "GET", Path: "/static/{file}", h: serveStatic},
	}
}

// citizenPage shows the logged-in citizen's code, or the login form.
func (s *Server) citizenPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := &pageData{Title: "健康码 Health code", Now: s.Clock.Now()}
	if p == nil || p.Role != healthcode.RoleCitizen {
		return s.render(w, http.StatusOK, "login.html", d)
	}
	cc, err := s.myCodeCached(r, p.Subject)
	if err != nil {
		return err
	}
	svg, err := s.Signer.SVG(cc.qr)
	if err != nil {
		return err
	}
	var code MyCodeJSON
	if err := jsonUnmarshal(cc.body, &code); err != nil {
		return err
	}
	d.Code, d.QRSVG, d.Colour = &code, template.HTML(svg), cc.view.Decision.Colour
	return s.render(w, http.StatusOK, "citizen.html", d)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	if err := r.ParseForm(); err != nil {
		return healthcode.Errorfd(healthcode.EINVALID, "http.form", "malformed form")
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	p, err := s.Auth.Authenticate(r.Context(), tok)
	if err != nil || p.Role != healthcode.RoleCitizen {
		return s.render(w, http.StatusUnauthorized, "login.html", &pageData{Title: "健康码 Health code",
			Error: "令牌无效 / This token is not a valid citizen token."})
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: 12 * 3600})
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func serveStatic(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	name := path.Clean(r.PathValue("file"))
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_asset", "no asset %q", name)
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err = w.Write(b)
	return err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
