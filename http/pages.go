package http

// The server-rendered pages' shared machinery: the embedded templates, the
// data every template gets and its formatting methods, rendering with the
// pages' security headers, the routes of every page, and the error pages.
// The pages themselves are beside it: citizen_pages.go (the citizen's own
// code, check-in), venue_pages.go (the poster and the printed code),
// verify_pages.go (the checkpoint verifier), login.go, console.go (the
// officials' console). Every page is in Chinese and English (i18n.go),
// every colour is also given as a shape and a word, and nothing is fetched
// from another host: the templates, the CSS and the scripts are embedded
// in the binary (static.go).

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"healthcode"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))

// displayZone is the time zone of the times pages show: Beijing time, the
// one official time of every region a GB/T 2260 code names (UTC+8 all year
// since 1991). Every time on a page says so (Zone).
var displayZone = time.FixedZone("UTC+8", 8*3600)

// pageData is what every template gets. Methods translate and format in
// the page's language.
type pageData struct {
	Lang string // langZH or langEN
	// Title is the message key of the page's title (and its h1).
	Title string
	// Path is the page's path, for the language link.
	Path string
	// Error and Notice are message keys shown at the top of a form.
	Error, Notice string
	// Status and Code describe an error page.
	Status    int
	ErrorCode string
	ErrorBody string // the message key of the error's text, if not the status's
	Scripts   []string

	// Authority is the body that issues the node's codes and Region the
	// GB/T 2260 code of the region it serves: every page names both
	// (render fills them in).
	Authority  string
	RegionCode string

	// The citizen page.
	Code      *MyCodeJSON
	QRSVG     template.HTML
	QRSeconds int64 // seconds the QR stays valid, from the server's clock
	Now       time.Time
	History   []historyRow

	// Who looked at the citizen's data, newest first; AccessMore says
	// that older reads are not shown.
	Access     []accessRow
	AccessMore int

	// The citizen's appeals, newest first, and the appeal form as typed.
	Appeals    []citizenAppealRow
	AppealForm *appealForm

	// The citizen's data (export.html) and the rules in force (rules.html).
	Export  *exportData
	RuleSet *rulesData

	// The verifier, check-in and poster pages: the messages their scripts
	// show.
	JS map[string]string

	// Next is where the login form leads once logged in.
	Next string
	// BodyClass styles a whole page (the poster fills the screen).
	BodyClass string

	// The venue pages: the venue, the owner's name, the poster's first
	// code for its script, and the printed code's image.
	Venue     *VenueJSON
	Owner     string
	Poster    *posterData
	StaticSVG template.HTML

	// Console is the operator console (console.go).
	Console *consoleData
	// Dashboard is the auditor's dashboard (dashboard.go); NavDashboard
	// shows its link.
	Dashboard    *dashboardData
	NavDashboard bool
	// Admin, Lab and Sampling are the admin's, the lab's and the sampling
	// site's pages (admin_pages.go, lab_pages.go, sampling_pages.go).
	Admin    *adminData
	Lab      *labData
	Sampling *samplingData
}

// T translates a message key.
func (d *pageData) T(key string) string { return translate(d.Lang, key) }

// Tf translates a message key and formats it with args.
func (d *pageData) Tf(key string, args ...any) string { return fmt.Sprintf(d.T(key), args...) }

// Text picks the page's language of a bilingual text, falling back to the
// other language when one is empty.
func (d *pageData) Text(t healthcode.Text) string {
	if d.Lang == langEN && t.EN != "" || t.ZH == "" {
		return t.EN
	}
	return t.ZH
}

// TOther translates a message key into the other language: the poster
// speaks to every visitor, in both.
func (d *pageData) TOther(key string) string { return translate(d.OtherLang(), key) }

// TfOther formats a message key in the other language.
func (d *pageData) TfOther(key string, args ...any) string {
	return fmt.Sprintf(d.TOther(key), args...)
}

// HTMLLang is the lang attribute of the page.
func (d *pageData) HTMLLang() string {
	if d.Lang == langEN {
		return "en"
	}
	return "zh-CN"
}

// OtherLang is the language the switch link leads to.
func (d *pageData) OtherLang() string {
	if d.Lang == langEN {
		return langZH
	}
	return langEN
}

// OtherHTMLLang is the lang attribute of the switch link's text.
func (d *pageData) OtherHTMLLang() string {
	if d.Lang == langEN {
		return "zh-CN"
	}
	return "en"
}

// SwitchURL is the page's path in the other language.
func (d *pageData) SwitchURL() string {
	return d.Path + "?lang=" + url.QueryEscape(d.OtherLang())
}

// Time formats a time.Time or *time.Time in Beijing time, to the minute,
// and says the zone; "" for none.
func (d *pageData) Time(v any) string {
	if s := formatTime(v, "2006-01-02 15:04"); s != "" {
		return s + d.Zone()
	}
	return ""
}

// Clock formats a time to the second, without the zone: a page's live
// clock is redrawn by its script, and the template says the zone after it.
func (d *pageData) Clock(v any) string { return formatTime(v, "2006-01-02 15:04:05") }

// Zone names the zone of the times a page shows, to follow a time.
func (d *pageData) Zone() string { return d.T("time.zone") }

// ISO formats a time for a datetime attribute.
func (d *pageData) ISO(v any) string { return formatTime(v, time.RFC3339) }

func formatTime(v any, layout string) string {
	switch t := v.(type) {
	case time.Time:
		return t.In(displayZone).Format(layout)
	case *time.Time:
		if t != nil {
			return t.In(displayZone).Format(layout)
		}
	}
	return ""
}

// Region names a GB/T 2260 region code by its name, within its province
// and prefecture (河南省郑州市金水区), with the code: a city is never shown
// as its province. A code whose name the node does not list
// (i18n/gbt2260.tsv) is said to be one, with its province.
func (d *pageData) Region(code string) string {
	place, how := d.place(code)
	if how == "" {
		return d.Tf("code.region.unknown_code", code)
	}
	return d.Tf(how, place, code)
}

// Place names a region without its code (河南省郑州市), as a page's header
// does; a code it cannot name is shown as Region shows it.
func (d *pageData) Place(code string) string {
	if place, how := d.place(code); how == "code.region.named" {
		return place
	}
	return d.Region(code)
}

// place is the name of a region within its province and prefecture, and
// the message that shows it with its code: code.region.named, or
// code.region.unlisted for a code the node has no name for (the place is
// then its province); "" for a code of no province.
func (d *pageData) place(code string) (string, string) {
	if len(code) != 6 {
		return "", ""
	}
	province := "province." + code[:2]
	if _, ok := messages[province]; !ok {
		return "", ""
	}
	if code[2:] == "0000" {
		return d.T(province), "code.region.named"
	}
	own := "region." + code
	if _, ok := messages[own]; !ok {
		return d.T(province), "code.region.unlisted"
	}
	parts := []string{d.T(province)}
	if pref := "region." + code[:4] + "00"; code[4:] != "00" && pref != own {
		if _, ok := messages[pref]; ok {
			parts = append(parts, d.T(pref))
		}
	}
	parts = append(parts, d.T(own))
	if d.Lang == langEN {
		slices.Reverse(parts)
		return strings.Join(parts, ", "), "code.region.named"
	}
	return strings.Join(parts, ""), "code.region.named"
}

// RegionName is the short name of a region (郑州市), or its province's if
// the node does not list it.
func (d *pageData) RegionName(code string) string {
	if _, ok := messages["region."+code]; ok {
		return d.T("region." + code)
	}
	if len(code) >= 2 {
		if _, ok := messages["province."+code[:2]]; ok {
			return d.T("province." + code[:2])
		}
	}
	return code
}

// IssuedBy names the authority that issues the node's codes: the one the
// node was configured with, else the health commission of its region.
func (d *pageData) IssuedBy() string {
	if d.Authority != "" {
		return d.Authority
	}
	return d.Tf("authority.default", d.RegionName(d.RegionCode))
}

// newPage starts a page's data in the request's language; a language
// chosen with the lang parameter is remembered in a cookie.
func newPage(w http.ResponseWriter, r *http.Request, title string) *pageData {
	lang, fromParam := negotiateLang(r)
	if fromParam {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	return &pageData{Lang: lang, Title: title, Path: r.URL.Path}
}

// pageCSP allows nothing from another host, no inline script and no inline
// style; data: images only for the empty favicon.
const pageCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) render(w http.ResponseWriter, status int, name string, d *pageData) error {
	d.Authority, d.RegionCode = s.Authority, s.Region
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, d); err != nil {
		return fmt.Errorf("http.render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", d.HTMLLang())
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// pageRoutes are the server-rendered pages and their assets. Page handlers
// answer their errors with an HTML page (htmlErrors).
func (s *Server) pageRoutes() []route {
	return append([]route{
		// The citizen page reads the session cookie itself (Page is false):
		// a stale cookie must lead to the login form, not to an error.
		{Method: "GET", Path: "/{$}", h: s.htmlErrors(s.citizenPage)},
		// Logging in and out need no session: a stale cookie must not
		// block either.
		{Method: "POST", Path: "/login", h: s.htmlErrors(s.login)},
		{Method: "POST", Path: "/logout", h: s.htmlErrors(s.logout)},
		{Method: "GET", Path: "/verify", h: s.htmlErrors(s.verifyPage)},
		// The check-in page and the venue pages, like the citizen page,
		// read the session cookie themselves and show the login form to
		// whoever is not the right caller.
		{Method: "GET", Path: "/c", h: s.htmlErrors(s.checkInPage)},
		{Method: "GET", Path: "/venue", h: s.htmlErrors(s.venueHome)},
		{Method: "GET", Path: "/venue/{id}", h: s.htmlErrors(s.posterPage)},
		{Method: "GET", Path: "/venue/{id}/print", h: s.htmlErrors(s.printPage)},
		{Method: "GET", Path: "/static/{file}", h: serveStatic},
	}, append(append(s.citizenRoutes(), s.consoleRoutes()...), s.dashboardRoutes()...)...)
}

// htmlErrors answers a page handler's error with the error page.
func (s *Server) htmlErrors(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		err := h(w, r, p)
		if err == nil {
			return nil
		}
		if healthcode.ErrorCode(err) == healthcode.EINTERNAL {
			s.Logger.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if rerr := s.renderError(w, r, err); rerr != nil {
			return err
		}
		return nil
	}
}

// pageProblem answers err with an HTML error page when the request comes
// from a browser navigating to a page (it accepts text/html and is not for
// the API, the log or the probes), and reports whether it did. problem()
// in http.go can call it first, so that a 404 or a 401 met before any page
// handler runs (no route; a session cookie that no longer authenticates)
// reaches a person as a page in their language, not as JSON.
func (s *Server) pageProblem(w http.ResponseWriter, r *http.Request, err error) bool {
	if !wantsHTML(r) {
		return false
	}
	return s.renderError(w, r, err) == nil
}

func wantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		return false
	}
	for _, p := range []string{"/api/", "/log/", "/static/", "/healthz", "/metrics"} {
		if strings.HasPrefix(r.URL.Path, p) {
			return false
		}
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// renderError writes the error page of err. A 401 is the login form (and
// clears a session cookie that no longer authenticates).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) error {
	err = bodyTooLarge(err)
	code := healthcode.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		d := newPage(w, r, "login.title")
		d.Path = "/"
		if _, cerr := r.Cookie(sessionCookie); cerr == nil {
			clearSession(w, r)
			d.Notice = "login.session_ended"
		}
		if r.Method == http.MethodGet {
			// Once logged in, back to the page asked for.
			d.Next = safeNext(r.URL.Path)
		}
		return s.render(w, status, "login.html", d)
	}
	if status == http.StatusServiceUnavailable && code != healthcode.ETAMPERED {
		w.Header().Set("Retry-After", "5")
	}
	if d := healthcode.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
	d := newPage(w, r, "error.title."+strconv.Itoa(status))
	d.Status, d.ErrorCode = status, healthcode.ErrorDetail(err)
	if d.ErrorCode == "" {
		d.ErrorCode = code
	}
	if _, known := messages[d.Title]; !known {
		d.Title, d.Status = "error.title.500", http.StatusInternalServerError
	}
	if code == healthcode.ETAMPERED {
		// Say why no code is shown, and what to do: not "try again shortly".
		d.Title, d.ErrorBody = "error.title.tampered", "error.body.tampered"
	}
	return s.render(w, status, "error.html", d)
}

// labelSVG gives the QR image its accessible name in the page's language,
// as its label and its title (the image's own title is in both languages).
func labelSVG(svg []byte, label string) string {
	s := strings.Replace(string(svg), `role="img"`, `role="img" aria-label="`+template.HTMLEscapeString(label)+`"`, 1)
	if i := strings.Index(s, "<title>"); i >= 0 {
		if j := strings.Index(s[i:], "</title>"); j >= 0 {
			s = s[:i] + "<title>" + template.HTMLEscapeString(label) + s[i+j:]
		}
	}
	return s
}

// LangOf is the lang attribute for a text the node holds in one language
// only (a name, a rule's legal basis, a rule set's title, a record's
// wording), when that is not the page's: "zh-CN" for text with Chinese on
// an English page, "en" for text in Latin letters with no Chinese on a
// Chinese page, else "". A page marks such text rather than pass it off as
// its own language.
func (d *pageData) LangOf(s string) string {
	latin := false
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			if d.Lang == langEN {
				return "zh-CN"
			}
			return ""
		}
		if r < 0x80 && unicode.IsLetter(r) {
			latin = true
		}
	}
	if latin && d.Lang != langEN {
		return "en"
	}
	return ""
}
