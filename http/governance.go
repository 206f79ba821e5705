package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"healthcode"
)

// GovernanceService is what the override, appeal, rule-set and official
// read endpoints need (engine.Engine implements it).
type GovernanceService interface {
	RequestOverride(ctx context.Context, actor *healthcode.Principal, o healthcode.Override) (*healthcode.Override, error)
	ApproveOverride(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.Override, error)
	CoSignOverride(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.Override, error)
	RefuseOverride(ctx context.Context, actor *healthcode.Principal, id int64, reason string) (*healthcode.Override, error)
	Overrides(ctx context.Context, status string) ([]healthcode.Override, error)
	FileAppeal(ctx context.Context, actor *healthcode.Principal, kind, note string) (*healthcode.Appeal, error)
	AnswerAppeal(ctx context.Context, actor *healthcode.Principal, id int64, grant bool, answer string) (*healthcode.Appeal, error)
	Appeals(ctx context.Context, actor *healthcode.Principal, status string) ([]healthcode.Appeal, error)
	ProposeRuleSet(ctx context.Context, actor *healthcode.Principal, source []byte) (*healthcode.RuleSetProposal, error)
	ApproveRuleSet(ctx context.Context, actor *healthcode.Principal, version string) (*healthcode.RuleSetRecord, error)
	CodeFor(ctx context.Context, actor *healthcode.Principal, subject, purpose, caseRef string) (*healthcode.CodeView, error)
	OpenLogEntry(ctx context.Context, actor *healthcode.Principal, index int64, purpose, caseRef string) (*healthcode.OpenedLogEntry, error)
	OversightFigures(ctx context.Context, actor *healthcode.Principal, since time.Time) (*healthcode.OversightFigures, error)
	Export(ctx context.Context, actor *healthcode.Principal, r healthcode.Retention) (*healthcode.DataExport, error)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, healthcode.Errorfd(healthcode.EINVALID, "http.id", "the id in the path must be a positive integer")
	}
	return id, nil
}

// OverrideJSON is an override in requests and answers, officials named.
type OverrideJSON struct {
	ID         int64      `json:"id,omitempty"`
	Subjects   []string   `json:"subjects"`
	Colour     string     `json:"colour"`
	Reason     string     `json:"reason"`
	Basis      []int64    `json:"basis"`
	Case       string     `json:"case,omitempty"`
	Note       string     `json:"note,omitempty"`
	Expires    time.Time  `json:"expires"`
	Status     string     `json:"status,omitempty"`
	Requester  string     `json:"requested_by,omitempty"`
	Approver   string     `json:"approved_by,omitempty"`
	CoSigner   string     `json:"cosigned_by,omitempty"`
	ApprovedAt *time.Time `json:"in_force_since,omitempty"`
	NeedsCoSig bool       `json:"needs_cosignature,omitempty"`
}

func named(p *healthcode.Principal) string {
	if p == nil {
		return ""
	}
	return p.Name + " (" + string(p.Role) + ", " + p.Unit + ")"
}

func overrideJSON(o *healthcode.Override) OverrideJSON {
	out := OverrideJSON{ID: o.ID, Subjects: o.Subjects, Colour: o.Colour.String(), Reason: o.Reason, Basis: o.Basis, Case: o.CaseRef,
		Note: o.Note, Expires: o.Expires, Status: o.Status, Requester: named(&o.Requester), Approver: named(o.Approver),
		CoSigner: named(o.CoSigner), NeedsCoSig: o.NeedsCoSign()}
	if !o.ApprovedAt.IsZero() {
		at := o.ApprovedAt
		out.ApprovedAt = &at
	}
	return out
}

func (s *Server) requestOverride(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	var req OverrideJSON
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c, err := healthcode.ParseColour(req.Colour)
	if err != nil {
		return err
	}
	o, err := s.Governance.RequestOverride(r.Context(), p, healthcode.Override{Subjects: req.Subjects, Colour: c, Reason: req.Reason,
		Basis: req.Basis, CaseRef: req.Case, Note: req.Note, Expires: req.Expires.UTC()})
	if err != nil {
		return err
	}
	s.codes.drop(o.Subjects)
	status := http.StatusAccepted
	if o.Status == healthcode.OverrideActive {
		status = http.StatusCreated
	}
	return writeJSON(w, status, overrideJSON(o))
}

func (s *Server) signOverride(sign func(context.Context, *healthcode.Principal, int64) (*healthcode.Override, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		o, err := sign(r.Context(), p, id)
		if err != nil {
			return err
		}
		s.codes.drop(o.Subjects)
		return writeJSON(w, http.StatusOK, overrideJSON(o))
	}
}

// refusal reads a refusal request: the id in the path, the reason in the body.
func refusal(r *http.Request) (int64, string, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, "", err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, "", err
	}
	return id, req.Reason, nil
}

func (s *Server) refuseOverride(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	id, reason, err := refusal(r)
	if err != nil {
		return err
	}
	o, err := s.Governance.RefuseOverride(r.Context(), p, id, reason)
	if err != nil {
		return err
	}
	s.codes.drop(o.Subjects)
	return writeJSON(w, http.StatusOK, overrideJSON(o))
}

func (s *Server) listOverrides(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	os, err := s.Governance.Overrides(r.Context(), r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	out := make([]OverrideJSON, len(os))
	for i := range os {
		out[i] = overrideJSON(&os[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"overrides": out})
}

// AppealJSON is an appeal as the person and the operators see it.
type AppealJSON struct {
	ID         int64      `json:"id"`
	Subject    string     `json:"subject,omitempty"`
	Kind       string     `json:"kind"`
	Note       string     `json:"note,omitempty"`
	Status     string     `json:"status"`
	Colour     string     `json:"colour"`
	Filed      time.Time  `json:"filed_at"`
	Deadline   time.Time  `json:"deadline"`
	Answer     string     `json:"answer,omitempty"`
	AnsweredBy string     `json:"answered_by,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	LogIndex   *int64     `json:"log_index,omitempty"`
}

func appealJSON(a *healthcode.Appeal) AppealJSON {
	out := AppealJSON{ID: a.ID, Subject: a.Subject, Kind: a.Kind, Note: a.Note, Status: a.Status, Colour: a.Colour.String(),
		Filed: a.CreatedAt, Deadline: a.Deadline, Answer: a.Answer, AnsweredBy: a.AnsweredBy}
	if !a.AnsweredAt.IsZero() {
		at := a.AnsweredAt
		out.AnsweredAt = &at
	}
	if a.LogIndex >= 0 {
		li := a.LogIndex
		out.LogIndex = &li
	}
	return out
}

func (s *Server) fileAppeal(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	var req struct {
		Kind string `json:"kind"`
		Note string `json:"note"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Kind == "" {
		req.Kind = healthcode.AppealColour
	}
	a, err := s.Governance.FileAppeal(r.Context(), p, req.Kind, req.Note)
	if err != nil {
		return err
	}
	s.codes.drop([]string{p.Subject})
	return writeJSON(w, http.StatusCreated, appealJSON(a))
}

func (s *Server) listAppeals(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	as, err := s.Governance.Appeals(r.Context(), p, r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	out := make([]AppealJSON, len(as))
	for i := range as {
		out[i] = appealJSON(&as[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"appeals": out})
}

func (s *Server) answerAppeal(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req struct {
		Grant  bool   `json:"grant"`
		Answer string `json:"answer"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	a, err := s.Governance.AnswerAppeal(r.Context(), p, id, req.Grant, req.Answer)
	if err != nil {
		return err
	}
	s.codes.drop([]string{a.Subject})
	return writeJSON(w, http.StatusOK, appealJSON(a))
}

func (s *Server) approveRuleSet(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	rec, err := s.Governance.ApproveRuleSet(r.Context(), p, r.PathValue("version"))
	if err != nil {
		return err
	}
	s.codes.clear()
	return writeJSON(w, http.StatusOK, map[string]any{"version": rec.Version, "hash": rec.Hash, "published_at": rec.PublishedAt, "published_by": rec.PublishedBy})
}

func (s *Server) personCode(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	q := r.URL.Query()
	v, err := s.Governance.CodeFor(r.Context(), p, r.PathValue("subject"), q.Get("purpose"), q.Get("case"))
	if err != nil {
		return err
	}
	hist := make([]DecisionJSON, 0, len(v.History))
	for i := len(v.History) - 1; i >= 0; i-- {
		hist = append(hist, decisionJSON(&v.History[i]))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"subject": v.Person.Pseudonym, "masked_name": v.Person.MaskedName,
		"decision": decisionJSON(v.Decision), "history": hist})
}

func (s *Server) export(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	x, err := s.Governance.Export(r.Context(), p, s.Retention)
	if err != nil {
		return err
	}
	evs := make([]ExportEvidenceJSON, len(x.Evidence))
	for i := range x.Evidence {
		evs[i] = exportEvidenceJSON(&x.Evidence[i], x.Retention[x.Evidence[i].ID])
	}
	hist := make([]ExportDecisionJSON, len(x.Code.History))
	for i := range x.Code.History {
		d := &x.Code.History[i]
		hist[i] = ExportDecisionJSON{Decision: decisionJSON(d), Proof: "/api/v1/me/proofs/" + strconv.FormatInt(d.LogIndex, 10)}
	}
	checkins := make([]ExportCheckInJSON, len(x.CheckIns))
	for i, c := range x.CheckIns {
		checkins[i] = ExportCheckInJSON{Venue: c.Venue, At: c.At, Verified: c.Verified, DeletedAfter: c.At.Add(s.Retention.CheckIns)}
	}
	access := make([]AccessJSON, len(x.Access))
	for i, a := range x.Access {
		access[i] = AccessJSON{At: a.Time, Who: a.Actor.Name, Role: string(a.Actor.Role), Unit: a.Actor.Unit, Purpose: a.Purpose, Case: a.CaseRef, What: a.What}
	}
	appeals := make([]AppealJSON, len(x.Appeals))
	for i := range x.Appeals {
		appeals[i] = appealJSON(&x.Appeals[i])
	}
	w.Header().Set("Content-Disposition", `attachment; filename="healthcode-my-data.json"`)
	return writeJSON(w, http.StatusOK, ExportJSON{ExportedAt: s.Clock.Now(), Subject: x.Code.Person.Pseudonym,
		Region: x.Code.Person.Region, Personal: x.Personal, Code: decisionJSON(x.Code.Decision), History: hist,
		Evidence: evs, CheckIns: checkins, Access: access, Appeals: appeals})
}
