package http

// The citizen's pages: their own code (why it has its colour, its history,
// who looked at their data) and the check-in page a scanned venue code
// opens.

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	"healthcode"
)

// accessRow is one read of the citizen's data, in words.
type accessRow struct {
	When    string
	ISO     string
	Who     string
	Role    string
	Unit    string
	Purpose string
	Case    string
	What    string
}

// historyRow is one past decision as the citizen page shows it.
type historyRow struct {
	When       string
	Colour     string
	Shape      string
	Reason     string
	Actor      string
	Submitters string
	LogIndex   int64
}

// Evidence describes one record in words: kind, result, time, submitter.
func (d *pageData) Evidence(e EvidenceOutJSON) string {
	parts := []string{d.T("kind." + e.Kind)}
	if e.Result != "" {
		parts = append(parts, d.T("result."+e.Result))
	}
	if e.Pooled {
		parts = append(parts, d.T("evidence.pooled"))
	}
	if e.Diagnosis != "" {
		parts = append(parts, d.T("diagnosis."+e.Diagnosis))
	}
	if e.RiskLevel != "" {
		parts = append(parts, d.T("risk."+e.RiskLevel))
	}
	if id, ok := strings.CutPrefix(e.CaseRef, "designation/"); ok {
		// A venue exposure rests on a risk designation, not a case.
		parts = append(parts, d.Tf("evidence.designation", id))
	} else if e.CaseRef != "" {
		parts = append(parts, d.T("evidence.case")+" "+e.CaseRef)
	}
	parts = append(parts, d.Time(e.ObservedAt), d.T("evidence.by")+" "+e.SubmitterName)
	return strings.Join(parts, " · ")
}

// QRLabel is the accessible name of the QR image.
func (d *pageData) QRLabel() string {
	if d.Code == nil {
		return ""
	}
	return d.Tf("code.qr.label", d.Code.MaskedName, d.T("colour."+d.Code.Decision.Colour))
}

// actorText says who made a decision: the rules, or the named official.
func (d *pageData) actorText(actor string) string {
	if v, ok := strings.CutPrefix(actor, "rules:"); ok {
		return d.Tf("actor.rules", v)
	}
	if v, ok := strings.CutPrefix(actor, "override: "); ok {
		return d.Tf("actor.override", v)
	}
	return actor
}

// historyRows describes the citizen's past decisions, newest first, each
// with who made it and who submitted the records it rests on.
func (d *pageData) historyRows(c *MyCodeJSON) []historyRow {
	names := map[int64]string{}
	for _, e := range c.Evidence {
		names[e.ID] = e.SubmitterName
	}
	rows := make([]historyRow, 0, len(c.History))
	for _, h := range c.History {
		var subs []string
		seen := map[string]bool{}
		for _, id := range h.EvidenceIDs {
			s, ok := names[id]
			if !ok {
				// The record is not among the current decision's: the
				// answer names only those submitters.
				s = d.Tf("history.record", id)
			}
			if !seen[s] {
				seen[s] = true
				subs = append(subs, s)
			}
		}
		rows = append(rows, historyRow{When: d.Time(h.DecidedAt), Colour: h.Colour, Shape: h.Shape,
			Reason: d.Text(h.Text), Actor: d.actorText(h.Actor), Submitters: strings.Join(subs, "、"), LogIndex: h.LogIndex})
	}
	return rows
}

// accessRows describes the reads of a person's data, newest first.
func (d *pageData) accessRows(rs []healthcode.AccessRecord) []accessRow {
	rows := make([]accessRow, 0, len(rs))
	for _, a := range rs {
		purpose := a.Purpose
		if _, ok := messages["purpose."+purpose]; ok {
			purpose = d.T("purpose." + purpose)
		}
		role := string(a.Actor.Role)
		if _, ok := messages["role."+role]; ok {
			role = d.T("role." + role)
		}
		rows = append(rows, accessRow{When: d.Time(a.Time), ISO: d.ISO(a.Time), Who: a.Actor.Name, Role: role, Unit: a.Actor.Unit,
			Purpose: purpose, Case: a.CaseRef, What: a.What})
	}
	return rows
}

// citizenPage shows the logged-in citizen's code, or the login form. A
// venue's session goes to the venue's pages.
func (s *Server) citizenPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "citizen.title")
	p, stale := s.pageCaller(w, r, p)
	if p != nil && staffHome(p.Role) != "" {
		http.Redirect(w, r, staffHome(p.Role), http.StatusSeeOther)
		return nil
	}
	if p == nil || p.Role != healthcode.RoleCitizen {
		return s.loginForm(w, d, stale, "", "")
	}
	if r.URL.Query().Get("appeal") == "filed" {
		d.Notice = "appeal.filed"
	}
	return s.renderCitizen(w, r, p, d, http.StatusOK)
}

// renderCitizen fills in and shows the citizen's page: the code, why, its
// history, who looked at their data, and their appeals with the form.
func (s *Server) renderCitizen(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, d *pageData, status int) error {
	cc, err := s.myCodeCached(r, p.Subject)
	if err != nil {
		return err
	}
	svg, err := s.Signer.SVG(cc.qr)
	if err != nil {
		return err
	}
	code := cc.code
	d.Code, d.Now = &code, s.Clock.Now()
	d.QRSVG = template.HTML(labelSVG(svg, d.QRLabel()))
	d.QRSeconds = max(int64(code.QRExpires.Sub(d.Now)/time.Second), 0)
	d.History = d.historyRows(&code)
	if s.Venues != nil {
		// GET /api/v1/me/access takes a bearer token only: the page reads
		// the same records itself.
		rs, err := s.Venues.AccessRecords(r.Context(), p)
		if err != nil {
			return err
		}
		if len(rs) > maxAccessShown {
			rs, d.AccessMore = rs[:maxAccessShown], maxAccessShown
		}
		d.Access = d.accessRows(rs)
	}
	if s.Governance != nil {
		as, err := s.Governance.Appeals(r.Context(), p, "")
		if err != nil {
			return err
		}
		d.Appeals = d.citizenAppealRows(as)
	}
	if d.AppealForm == nil {
		d.AppealForm = &appealForm{Kind: healthcode.AppealColour}
	}
	d.Scripts = []string{"/static/clock.js"}
	return s.render(w, status, "citizen.html", d)
}

// citizenRoutes are the citizen's pages beyond their code, and the rules
// in force. The export page reads the session itself and shows the login
// form to anyone else; the appeal takes the session cookie (Page) and is
// refused to other roles by the table.
func (s *Server) citizenRoutes() []route {
	return []route{
		{Method: "POST", Path: "/appeals", Roles: citizenOnly, Page: true, h: s.htmlErrors(s.citizenAppeal)},
		{Method: "GET", Path: "/export", h: s.htmlErrors(s.exportPage)},
		{Method: "GET", Path: "/rules", h: s.htmlErrors(s.rulesPage)},
	}
}

// maxAccessShown bounds the reads of a person's data the citizen page lists.
const maxAccessShown = 50

// checkInPage is the page a scanned venue code opens (/c#<code>; the code
// stays in the fragment, so it never reaches a server log): its script
// reads the code and posts the check-in with the session cookie, then
// shows the citizen's colour for the door keeper. Opened without a code
// it scans one (camera, photo or text). Anyone but a citizen gets the
// login form, whose script keeps the code until the citizen is back.
func (s *Server) checkInPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "checkin.title")
	d.Scripts = []string{"/static/checkin.js"}
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleCitizen {
		return s.loginForm(w, d, stale, "/c", "login.for_checkin")
	}
	d.Now = s.Clock.Now()
	d.JS = jsMessagesFor(d.Lang, checkInPrefixes...)
	d.Scripts = []string{"/static/clock.js", "/static/checkin.js"}
	return s.render(w, http.StatusOK, "checkin.html", d)
}
