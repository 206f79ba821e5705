package http

// The sampling site's page (采样登记): scan a person's health code (or
// type their ID number) and the tube, and the collection is recorded by
// the collection service, as POST /api/v1/collections records it: verified
// with the node's keys, logged naming the sampler, the tube opened for the
// sampler's unit.

import (
	"net/http"
	"strings"
	"time"

	"healthcode"
)

func (s *Server) samplingRoutes() []route {
	return []route{
		{Method: "GET", Path: "/sample", h: s.htmlErrors(s.samplingPage)},
		{Method: "POST", Path: "/sample", Roles: []healthcode.Role{healthcode.RoleSampler}, Page: true, h: s.htmlErrors(s.samplingCollect)},
	}
}

// samplingData is what the sampling template gets.
type samplingData struct {
	Who  string
	Err  *consoleError
	Done *samplingDone
	// The form's fields: kept after a collection (site, tube kind) or a
	// refusal (everything), so the next person is quick to record.
	Code, IDNumber, Tube, Site string
	Mixed                      bool
	CollectedAt, MaxTime       string
}

// samplingDone is the collection just recorded.
type samplingDone struct {
	ID        int64
	Tube      string
	Duplicate bool
}

func (s *Server) samplingPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "sample.title")
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleSampler {
		return s.loginForm(w, d, stale, "/sample", "login.for_sample")
	}
	return s.renderSampling(w, p, d, &samplingData{}, http.StatusOK)
}

func (s *Server) renderSampling(w http.ResponseWriter, p *healthcode.Principal, d *pageData, x *samplingData, status int) error {
	d.Path, d.Title, d.BodyClass, d.Sampling = "/sample", "sample.title", "staff", x
	d.Scripts = append(d.Scripts, "/static/jsQR.js", "/static/sample.js")
	d.JS = jsMessagesFor(d.Lang, "sample.js.")
	x.Who = d.officialName(p)
	now := s.Clock.Now()
	if x.CollectedAt == "" {
		x.CollectedAt = localTime(now)
	}
	x.MaxTime = localTime(now.Add(time.Minute))
	return s.render(w, status, "sample.html", d)
}

// samplingCollect is POST /sample: one collection. The answer is the page
// again (not a redirect), with what was recorded or why not, and the site
// kept for the next person.
func (s *Server) samplingCollect(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := r.PostForm
	x := &samplingData{Code: strings.TrimSpace(f.Get("code")), IDNumber: strings.TrimSpace(f.Get("id_number")), Tube: strings.TrimSpace(f.Get("tube")),
		Site: strings.TrimSpace(f.Get("site")), Mixed: f.Get("mixed") == "on", CollectedAt: f.Get("collected_at")}
	d := newPage(w, r, "sample.title")
	refused := func(err error) error {
		e, status, ok := staffRefusal(d, err)
		if !ok {
			return err
		}
		x.Err = e
		return s.renderSampling(w, p, d, x, status)
	}
	at, err := parseLocalTime("collected_at", x.CollectedAt)
	if err != nil {
		return refused(err)
	}
	outs, err := s.Collections.Collect(r.Context(), p, []healthcode.CollectionRequest{{Code: x.Code, IDNumber: x.IDNumber, Tube: x.Tube,
		Mixed: x.Mixed, Site: x.Site, CollectedAt: at}})
	if err != nil {
		return refused(err)
	}
	o := outs[0]
	if o.Status == healthcode.Rejected {
		return refused(o.Err)
	}
	// Recorded: the next person, same site, same kind of tube (a mixed
	// tube takes the next people too).
	next := &samplingData{Site: x.Site, Mixed: x.Mixed, Done: &samplingDone{ID: o.CollectionID, Tube: x.Tube, Duplicate: o.Status == healthcode.Duplicate}}
	if x.Mixed {
		next.Tube = x.Tube
	}
	return s.renderSampling(w, p, d, next, http.StatusOK)
}
