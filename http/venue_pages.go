package http

// The venue owner's pages: the poster with its rotating live code and the
// printable static code.

import (
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"time"

	"healthcode"
)

// posterData starts the poster's script: the venue, its live code, when
// the next one is due, and the node's clock (the tablet's may be wrong).
type posterData struct {
	Venue     string    `json:"venue"`
	Live      string    `json:"live"`
	RefreshAt time.Time `json:"refresh_at"`
	Now       time.Time `json:"now"`
}

// venueIDPattern is what a venue id may look like in a path.
var venueIDPattern = regexp.MustCompile(`^[a-z0-9]{1,64}$`)

// venueHome is where a venue owner lands: a form that opens a poster by
// the venue's id.
func (s *Server) venueHome(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "venue.home.title")
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleVenue {
		return s.loginForm(w, d, stale, "/venue", "login.for_venue")
	}
	if q := r.URL.Query(); q.Has("id") {
		id := strings.ToLower(strings.TrimSpace(q.Get("id")))
		if venueIDPattern.MatchString(id) {
			http.Redirect(w, r, "/venue/"+id, http.StatusSeeOther)
			return nil
		}
		d.Error = "venue.home.bad_id"
	}
	d.Owner = p.Name
	return s.render(w, http.StatusOK, "venue.html", d)
}

// posterVenue authenticates a venue page's caller and returns the venue
// with its codes, or has shown the login form (done).
func (s *Server) posterVenue(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, d *pageData) (v *healthcode.Venue, live, static string, done bool, err error) {
	id := r.PathValue("id")
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleVenue {
		next := ""
		if venueIDPattern.MatchString(id) {
			next = r.URL.Path
		}
		return nil, "", "", true, s.loginForm(w, d, stale, next, "login.for_venue")
	}
	if s.Venues == nil {
		return nil, "", "", false, healthcode.Errorfd(healthcode.EUNAVAILABLE, "venue.none", "this node serves no venues")
	}
	// Only the venue's owner gets its codes: anyone else is told there is
	// no such venue.
	v, live, static, err = s.Venues.VenueCodes(r.Context(), p, id)
	return v, live, static, false, err
}

// posterPage is the venue's poster: its live code, redrawn every slot by
// static/poster.js from GET /api/v1/venues/{id}/code, full screen, for
// hours on a cheap tablet.
func (s *Server) posterPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "poster.title")
	v, live, _, done, err := s.posterVenue(w, r, p, d)
	if done || err != nil {
		return err
	}
	now := s.Clock.Now()
	vj := venueJSON(v)
	d.Venue, d.BodyClass = &vj, "poster"
	d.Poster = &posterData{Venue: v.ID, Live: live, Now: now,
		RefreshAt: time.Unix((healthcode.SlotOf(now)+1)*int64(healthcode.VenueSlot/time.Second), 0).UTC()}
	d.JS = jsMessagesFor(d.Lang, posterPrefixes...)
	d.Scripts = []string{"/static/qrcode.js", "/static/poster.js"}
	return s.render(w, http.StatusOK, "poster.html", d)
}

// printPage is the venue's static code, to print for a place with no
// screen: drawn here, marked as proving nothing about presence.
func (s *Server) printPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "print.title")
	v, _, static, done, err := s.posterVenue(w, r, p, d)
	if done || err != nil {
		return err
	}
	svg, err := s.Signer.SVG(checkInURL(r, static))
	if err != nil {
		return err
	}
	vj := venueJSON(v)
	d.Venue, d.BodyClass = &vj, "print"
	d.StaticSVG = template.HTML(labelSVG(svg, d.Tf("print.qr.label", v.Name)))
	d.Scripts = []string{"/static/print.js"}
	return s.render(w, http.StatusOK, "print.html", d)
}

// checkInURL is what a venue code's QR holds: this node's check-in page,
// with the code in the fragment. The node is the one the request was
// sent to.
func checkInURL(r *http.Request, code string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/c#" + code
}
