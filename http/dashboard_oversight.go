package http

// The dashboard's alerts and reviews: what the detectors raised in the
// window (a chart by day and detector, and each alert with the officials,
// units and log entries it names), the reviews, and the forms with which an
// auditor opens, confirms or closes a review. The forms call the same
// OversightService methods as POST /api/v1/oversight/reviews and its
// confirm and close: the engine checks every rule again, and logs each.

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/chart"
)

// oversightPageRoutes are the review forms of the dashboard.
func (s *Server) oversightPageRoutes() []route {
	return []route{
		{Method: "POST", Path: "/dashboard/alerts/{id}/review", Roles: auditorRole, Page: true, h: s.htmlErrors(s.dashboardAction(s.dashOpenReview))},
		{Method: "POST", Path: "/dashboard/reviews/{id}/confirm", Roles: auditorRole, Page: true, h: s.htmlErrors(s.dashboardAction(s.dashConfirmReview))},
		{Method: "POST", Path: "/dashboard/reviews/{id}/close", Roles: auditorRole, Page: true, h: s.htmlErrors(s.dashboardAction(s.dashCloseReview))},
	}
}

// alertRow is an alert as the dashboard shows it.
type alertRow struct {
	ID                int64
	Detector          string // its name in the page's language
	DetectorKey       string
	Opened, OpenedISO string
	Latency           string // seconds from its first effect to the alert
	Summary           string // English, as the detector wrote it
	Officials, Units  []string
	People            int
	LogIndexes        []int64
	MoreLog           int
	Review            *reviewRow
	CanOpen           bool
	Closed            bool
}

// reviewRow is a review as the dashboard shows it.
type reviewRow struct {
	ID, AlertID int64
	Officials   []string
	Note        string
	Status      string
	InForce     bool
	Expires     string
	OpenedBy    string
	ConfirmedBy string
	ClosedBy    string
	CloseNote   string
	LogIndex    int64
	CanConfirm  bool
	CanClose    bool
}

// maxAlertLogLinks bounds the log entries an alert row links to.
const maxAlertLogLinks = 5

// fillOversight reads the alerts opened in the window and every review.
func (s *Server) fillOversight(r *http.Request, p *healthcode.Principal, d *pageData, dd *dashboardData, q healthcode.DashboardQuery, units map[string]string) error {
	if s.Oversight == nil {
		return nil
	}
	ctx := r.Context()
	alerts, err := s.Oversight.Alerts(ctx, p, healthcode.AlertQuery{Since: q.Since})
	if err != nil {
		return err
	}
	reviews, err := s.Oversight.Reviews(ctx, p, "")
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	dd.Oversight = true
	byID := map[int64]*reviewRow{}
	for i := range reviews {
		rv := &reviews[i]
		row := &reviewRow{ID: rv.ID, AlertID: rv.AlertID, Officials: rv.Officials, Note: rv.Note, InForce: rv.InForce(now),
			Expires: d.Time(rv.Expires), OpenedBy: d.officialName(&rv.OpenedBy), ConfirmedBy: d.officialName(rv.ConfirmedBy),
			ClosedBy: d.officialName(rv.ClosedBy), CloseNote: rv.CloseNote, LogIndex: rv.LogIndex}
		switch {
		case rv.Status == healthcode.ReviewClosed:
			row.Status = d.T("dash.review.closed")
		case row.InForce && rv.ConfirmedBy != nil:
			row.Status = d.Tf("dash.review.confirmed", row.Expires)
		case row.InForce:
			row.Status = d.Tf("dash.review.open", row.Expires)
		default:
			row.Status = d.T("dash.review.lapsed")
		}
		row.CanConfirm = row.InForce && rv.ConfirmedBy == nil && rv.OpenedBy.ID != p.ID
		row.CanClose = rv.Status != healthcode.ReviewClosed
		byID[rv.ID] = row
		dd.Reviews = append(dd.Reviews, *row)
	}
	keys, labels, at := windowDays(q)
	perDetector := map[string][]int64{}
	for i := range alerts {
		a := &alerts[i]
		row := alertRow{ID: a.ID, Detector: d.detector(a.Detector), DetectorKey: a.Detector, Opened: d.Clock(a.OpenedAt), OpenedISO: d.ISO(a.OpenedAt),
			Summary: a.Summary, Officials: a.Officials, People: len(a.People), Review: byID[a.ReviewID], Closed: !a.Open()}
		if !a.FirstEffectAt.IsZero() {
			row.Latency = strconv.FormatFloat(a.OpenedAt.Sub(a.FirstEffectAt).Seconds(), 'f', 0, 64)
		}
		for _, u := range a.Units {
			row.Units = append(row.Units, unitName(units, u))
		}
		row.LogIndexes = a.LogIndexes
		if len(row.LogIndexes) > maxAlertLogLinks {
			row.LogIndexes, row.MoreLog = row.LogIndexes[:maxAlertLogLinks], len(a.LogIndexes)-maxAlertLogLinks
		}
		row.CanOpen = a.Open() && (row.Review == nil || !row.Review.InForce) && !slices.Contains(a.Officials, p.ID)
		dd.Alerts = append(dd.Alerts, row)
		if day, ok := at[dayStart(a.OpenedAt, q).Unix()]; ok {
			if perDetector[a.Detector] == nil {
				perDetector[a.Detector] = make([]int64, len(keys))
			}
			perDetector[a.Detector][day]++
		}
	}
	b := &chart.Bars{ID: "chart-alerts", Title: d.T("dash.alerts.chart"), Categories: labels, Keys: keys, Empty: d.T("dash.alerts.none")}
	for i, det := range healthcode.Detectors {
		if v := perDetector[det]; v != nil {
			b.Series = append(b.Series, chart.Series{Key: det, Label: d.detector(det), Class: fmt.Sprintf("k%d", i), Values: v})
		}
	}
	dd.AlertsChart, err = block(b)
	return err
}

// dayStart is the start of the window's bucket t falls in.
func dayStart(t time.Time, q healthcode.DashboardQuery) time.Time {
	return q.Since.Add(t.Sub(q.Since) / q.Bucket * q.Bucket)
}

// detector names a detector in the page's language.
func (d *pageData) detector(name string) string {
	if _, ok := messages["detector."+name]; ok {
		return d.T("detector." + name)
	}
	return name
}

// dashboardFlash carries what a review form did to the dashboard it
// redirects to.
const dashboardFlash = "hc_dflash"

// dashboardAction runs one of the dashboard's review forms (serve has
// refused a form from another site and anyone but an auditor), then
// redirects to the dashboard's alerts with what it did. A refusal is the
// error page, saying why.
func (s *Server) dashboardAction(act func(r *http.Request, p *healthcode.Principal, id int64) (flash string, rid int64, err error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		if s.Oversight == nil {
			return healthcode.Errorfd(healthcode.EUNAVAILABLE, "oversight.none", "this node runs no oversight")
		}
		if err := parseForm(r); err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		flash, rid, err := act(r, p, id)
		if err != nil {
			return err
		}
		http.SetCookie(w, &http.Cookie{Name: dashboardFlash, Value: flash + ":" + strconv.FormatInt(rid, 10), Path: "/dashboard",
			MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		http.Redirect(w, r, "/dashboard#alerts", http.StatusSeeOther)
		return nil
	}
}

// readDashboardFlash returns the flash message in the page's language, and
// clears it. Only the dashboard's own messages are shown.
func readDashboardFlash(w http.ResponseWriter, r *http.Request, d *pageData) string {
	c, err := r.Cookie(dashboardFlash)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: dashboardFlash, Value: "", Path: "/dashboard", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	key, n, ok := strings.Cut(c.Value, ":")
	id, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || id < 0 {
		return ""
	}
	if _, known := messages["dash.done."+key]; !known {
		return ""
	}
	return d.Tf("dash.done."+key, id)
}

func (s *Server) dashOpenReview(r *http.Request, p *healthcode.Principal, id int64) (string, int64, error) {
	rv, err := s.Oversight.OpenReview(r.Context(), p, id, strings.TrimSpace(r.PostForm.Get("note")))
	if err != nil {
		return "", 0, err
	}
	return "review.opened", rv.ID, nil
}

func (s *Server) dashConfirmReview(r *http.Request, p *healthcode.Principal, id int64) (string, int64, error) {
	rv, err := s.Oversight.ConfirmReview(r.Context(), p, id)
	if err != nil {
		return "", 0, err
	}
	return "review.confirmed", rv.ID, nil
}

func (s *Server) dashCloseReview(r *http.Request, p *healthcode.Principal, id int64) (string, int64, error) {
	rv, err := s.Oversight.CloseReview(r.Context(), p, id, strings.TrimSpace(r.PostForm.Get("note")))
	if err != nil {
		return "", 0, err
	}
	return "review.closed", rv.ID, nil
}
