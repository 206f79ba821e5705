package http

// The citizen's data (PIPL art. 45) as a page to read, with the same data
// to download as JSON (GET /api/v1/me/export).

import (
	"net/http"

	"healthcode"
)

// exportData is everything the node holds about the citizen, in words.
type exportData struct {
	Personal healthcode.PersonalData
	Subject  string
	Region   string
	Evidence []exportEvidence
	CheckIns []exportCheckIn
	// Checkins older than this are deleted already.
	CheckInDays int
}

type exportEvidence struct {
	ID           int64
	What         string
	Verified     bool
	Recorded     string
	DeletedAfter string
}

type exportCheckIn struct {
	Venue        string
	At, ISO      string
	Verified     bool
	DeletedAfter string
}

// exportPage shows the citizen everything the node holds about them: who
// they are (unsealed for them), their code and its history, each record
// with the day it will be deleted, their check-ins, who read their data,
// and their appeals; with a link that downloads the same as JSON. Anyone
// else gets the login form.
func (s *Server) exportPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "export.title")
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleCitizen {
		return s.loginForm(w, d, stale, "/export", "login.for_export")
	}
	x, err := s.Governance.Export(r.Context(), p, s.Retention)
	if err != nil {
		return err
	}
	d.Now = s.Clock.Now()
	code := MyCodeJSON{Subject: x.Code.Person.Pseudonym, MaskedName: x.Code.Person.MaskedName, Region: x.Code.Person.Region,
		Decision: decisionJSON(x.Code.Decision)}
	for i := len(x.Code.History) - 1; i >= 0; i-- {
		code.History = append(code.History, decisionJSON(&x.Code.History[i]))
	}
	for _, e := range x.Evidence {
		code.Evidence = append(code.Evidence, EvidenceOutJSON{ID: e.ID, Kind: string(e.Kind), ObservedAt: e.ObservedAt, Result: e.Result,
			Pooled: e.Pooled, Diagnosis: e.Diagnosis, CaseRef: e.CaseRef, RiskLevel: e.RiskLevel, SubmitterName: e.SubmitterName})
	}
	d.Code = &code
	d.History = d.historyRows(&code)
	xd := &exportData{Personal: x.Personal, Subject: code.Subject, Region: code.Region, CheckInDays: int(s.Retention.CheckIns / healthcode.Day)}
	for i, e := range x.Evidence {
		xd.Evidence = append(xd.Evidence, exportEvidence{ID: e.ID, What: d.Evidence(code.Evidence[i]), Verified: e.Verified,
			Recorded: d.Time(e.RecordedAt), DeletedAfter: d.Time(x.Retention[e.ID])})
	}
	for _, c := range x.CheckIns {
		xd.CheckIns = append(xd.CheckIns, exportCheckIn{Venue: c.Venue, At: d.Time(c.At), ISO: d.ISO(c.At), Verified: c.Verified,
			DeletedAfter: d.Time(c.At.Add(s.Retention.CheckIns))})
	}
	d.Access = d.accessRows(x.Access)
	d.Appeals = d.citizenAppealRows(x.Appeals)
	d.Export = xd
	return s.render(w, http.StatusOK, "export.html", d)
}
