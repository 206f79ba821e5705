package http

import (
	"net/http"
	"strconv"
	"time"

	"healthcode"
)

// oversightRoutes are the auditors' endpoints: alerts the detectors raised,
// and reviews of them.
func (s *Server) oversightRoutes() []route {
	auditor := []healthcode.Role{healthcode.RoleAuditor}
	return []route{
		{Method: "GET", Path: "/api/v1/oversight/alerts", Roles: auditor, h: s.listAlerts},
		{Method: "GET", Path: "/api/v1/oversight/reviews", Roles: auditor, h: s.listReviews},
		{Method: "POST", Path: "/api/v1/oversight/reviews", Roles: auditor, h: s.openReview},
		{Method: "POST", Path: "/api/v1/oversight/reviews/{id}/confirm", Roles: auditor, h: s.confirmReview},
		{Method: "POST", Path: "/api/v1/oversight/reviews/{id}/close", Roles: auditor, h: s.closeReview},
	}
}

// AlertJSON is an alert in answers.
type AlertJSON struct {
	ID            int64      `json:"id"`
	Detector      string     `json:"detector"`
	OpenedAt      time.Time  `json:"opened_at"`
	FirstEffectAt time.Time  `json:"first_effect_at"`
	Summary       string     `json:"summary"`
	Officials     []string   `json:"officials"`
	Units         []string   `json:"units"`
	People        []string   `json:"people"`
	LogIndexes    []int64    `json:"log_indexes"`
	ReviewID      *int64     `json:"review_id"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// alertJSON is the answer's form of an alert.
func alertJSON(a *healthcode.Alert) AlertJSON {
	out := AlertJSON{ID: a.ID, Detector: a.Detector, OpenedAt: a.OpenedAt, FirstEffectAt: a.FirstEffectAt, Summary: a.Summary,
		Officials: nonNilStrings(a.Officials), Units: nonNilStrings(a.Units), People: nonNilStrings(a.People), LogIndexes: a.LogIndexes}
	if out.LogIndexes == nil {
		out.LogIndexes = []int64{}
	}
	if a.ReviewID != 0 {
		id := a.ReviewID
		out.ReviewID = &id
	}
	if !a.ClosedAt.IsZero() {
		t := a.ClosedAt
		out.ClosedAt = &t
	}
	return out
}

// ReviewJSON is a review in answers.
type ReviewJSON struct {
	ID          int64      `json:"id"`
	AlertID     int64      `json:"alert_id"`
	Officials   []string   `json:"officials"`
	Note        string     `json:"note"`
	Status      string     `json:"status"`
	InForce     bool       `json:"in_force"`
	OpenedBy    string     `json:"opened_by"`
	OpenedAt    time.Time  `json:"opened_at"`
	Expires     time.Time  `json:"expires"`
	ConfirmedBy string     `json:"confirmed_by,omitempty"`
	ClosedBy    string     `json:"closed_by,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	CloseNote   string     `json:"close_note,omitempty"`
	LogIndex    int64      `json:"log_index"`
}

func reviewJSON(r *healthcode.Review, now time.Time) ReviewJSON {
	out := ReviewJSON{ID: r.ID, AlertID: r.AlertID, Officials: nonNilStrings(r.Officials), Note: r.Note, Status: r.Status,
		InForce: r.InForce(now), OpenedBy: named(&r.OpenedBy), OpenedAt: r.OpenedAt, Expires: r.Expires,
		ConfirmedBy: named(r.ConfirmedBy), ClosedBy: named(r.ClosedBy), CloseNote: r.CloseNote, LogIndex: r.LogIndex}
	if !r.ClosedAt.IsZero() {
		t := r.ClosedAt
		out.ClosedAt = &t
	}
	return out
}

func (s *Server) oversight() (healthcode.OversightService, error) {
	if s.Oversight == nil {
		return nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, "oversight.none", "this node runs no oversight")
	}
	return s.Oversight, nil
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	svc, err := s.oversight()
	if err != nil {
		return err
	}
	q := healthcode.AlertQuery{Detector: r.URL.Query().Get("detector"), Official: r.URL.Query().Get("official")}
	if v := r.URL.Query().Get("open"); v != "" {
		open, err := strconv.ParseBool(v)
		if err != nil {
			return healthcode.Errorfd(healthcode.EINVALID, "alert.open", "open must be true or false")
		}
		q.Open = &open
	}
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return healthcode.Errorfd(healthcode.EINVALID, "alert.since", "since must be an RFC 3339 time")
		}
		q.Since = t.UTC()
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return healthcode.Errorfd(healthcode.EINVALID, "alert.limit", "limit must be a positive integer")
		}
		q.Limit = n
	}
	as, err := svc.Alerts(r.Context(), p, q)
	if err != nil {
		return err
	}
	out := make([]AlertJSON, len(as))
	for i := range as {
		out[i] = alertJSON(&as[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	svc, err := s.oversight()
	if err != nil {
		return err
	}
	rs, err := svc.Reviews(r.Context(), p, r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	out := make([]ReviewJSON, len(rs))
	for i := range rs {
		out[i] = reviewJSON(&rs[i], now)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reviews": out})
}

func (s *Server) openReview(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	svc, err := s.oversight()
	if err != nil {
		return err
	}
	var req struct {
		AlertID int64  `json:"alert_id"`
		Note    string `json:"note"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.AlertID <= 0 {
		return healthcode.Errorfd(healthcode.EINVALID, "review.alert", "alert_id must be a positive integer")
	}
	rv, err := svc.OpenReview(r.Context(), p, req.AlertID, req.Note)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, reviewJSON(rv, s.Clock.Now()))
}

func (s *Server) confirmReview(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	svc, err := s.oversight()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rv, err := svc.ConfirmReview(r.Context(), p, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reviewJSON(rv, s.Clock.Now()))
}

func (s *Server) closeReview(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	svc, err := s.oversight()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req struct {
		Note string `json:"note"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	rv, err := svc.CloseReview(r.Context(), p, id, req.Note)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reviewJSON(rv, s.Clock.Now()))
}
