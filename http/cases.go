package http

import (
	"context"
	"net/http"
	"time"

	"healthcode"
)

// CaseService is what the endpoints of interview-linked records and
// unmask requests need (engine.Engine implements it).
type CaseService interface {
	ConfirmRecord(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.PendingRecord, error)
	CoSignRecord(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.PendingRecord, error)
	RefuseRecord(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.PendingRecord, error)
	PendingRecords(ctx context.Context, actor *healthcode.Principal, status string) ([]healthcode.PendingRecord, error)
	RequestUnmask(ctx context.Context, actor *healthcode.Principal, subject, purpose, caseRef string) (*healthcode.UnmaskRequest, error)
	ApproveUnmask(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.UnmaskRequest, error)
	RefuseUnmask(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.UnmaskRequest, error)
	Unmask(ctx context.Context, actor *healthcode.Principal, id int64) (*healthcode.Person, *healthcode.UnmaskRequest, error)
}

// LinkJSON is what a contact, travel or quarantine-start record states to
// tie the person to its case or fact.
type LinkJSON struct {
	Kind        string `json:"kind"`
	Venue       string `json:"venue,omitempty"`
	Via         string `json:"via,omitempty"`
	ViaIDNumber string `json:"via_id_number,omitempty"`
}

func (l *LinkJSON) link() healthcode.Link {
	if l == nil {
		return healthcode.Link{}
	}
	return healthcode.Link{Kind: l.Kind, Venue: l.Venue, Via: l.Via, ViaIDNumber: l.ViaIDNumber}
}

// RecordJSON is a record resting on an interview, as officials see it.
type RecordJSON struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	Subject     string    `json:"subject"`
	Case        string    `json:"case,omitempty"`
	Link        LinkJSON  `json:"link"`
	ObservedAt  time.Time `json:"observed_at"`
	Status      string    `json:"status"`
	NeedsCoSign bool      `json:"needs_cosign"`
	Requester   string    `json:"requester"`
	Confirmer   string    `json:"confirmer,omitempty"`
	CoSigner    string    `json:"cosigner,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	EvidenceID  int64     `json:"evidence_id,omitempty"`
}

func recordJSON(r *healthcode.PendingRecord) RecordJSON {
	return RecordJSON{ID: r.ID, Kind: string(r.Evidence.Kind), Subject: r.Evidence.Subject, Case: r.Case,
		Link: LinkJSON{Kind: r.Link.Kind, Venue: r.Link.Venue, Via: r.Link.Via}, ObservedAt: r.Evidence.ObservedAt, Status: r.Status,
		NeedsCoSign: r.CoSignNeeded, Requester: named(&r.Requester), Confirmer: named(r.Confirmer), CoSigner: named(r.CoSigner),
		CreatedAt: r.CreatedAt, EvidenceID: r.EvidenceID}
}

func (s *Server) signRecord(sign func(context.Context, *healthcode.Principal, int64) (*healthcode.PendingRecord, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		rec, err := sign(r.Context(), p, id)
		if err != nil {
			return err
		}
		s.codes.drop([]string{rec.Evidence.Subject})
		return writeJSON(w, http.StatusOK, recordJSON(rec))
	}
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	rs, err := s.Venues.PendingRecords(r.Context(), p, r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	out := make([]RecordJSON, len(rs))
	for i := range rs {
		out[i] = recordJSON(&rs[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"records": out})
}

// UnmaskJSON is an unmask request.
type UnmaskJSON struct {
	ID        int64     `json:"id"`
	Subject   string    `json:"subject"`
	Purpose   string    `json:"purpose"`
	Case      string    `json:"case"`
	Status    string    `json:"status"`
	Requester string    `json:"requester"`
	Approver  string    `json:"approver,omitempty"`
	Expires   time.Time `json:"expires,omitzero"`
}

func unmaskJSON(u *healthcode.UnmaskRequest) UnmaskJSON {
	return UnmaskJSON{ID: u.ID, Subject: u.Subject, Purpose: u.Purpose, Case: u.Case, Status: u.Status,
		Requester: named(&u.Requester), Approver: named(u.Approver), Expires: u.Expires}
}

// requestUnmask asks to see who a pseudonym is; an approver of another
// unit must approve before GET /api/v1/unmask/{id} answers.
func (s *Server) requestUnmask(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	var req struct {
		Subject string `json:"subject"`
		Purpose string `json:"purpose"`
		Case    string `json:"case"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	u, err := s.Venues.RequestUnmask(r.Context(), p, req.Subject, req.Purpose, req.Case)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, unmaskJSON(u))
}

func (s *Server) answerUnmask(answer func(context.Context, *healthcode.Principal, int64) (*healthcode.UnmaskRequest, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		u, err := answer(r.Context(), p, id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, unmaskJSON(u))
	}
}

func (s *Server) unmask(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	person, u, err := s.Venues.Unmask(r.Context(), p, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"subject": person.Pseudonym, "name": person.Personal.Name,
		"id_number": person.Personal.IDNumber, "phone": person.Personal.Phone, "case": u.Case})
}

// caseRoutes are the endpoints of interview-linked records and unmask
// requests.
func (s *Server) caseRoutes() []route {
	epi, auditor, approver, clinic := healthcode.RoleEpidemiologist, healthcode.RoleAuditor, healthcode.RoleApprover, healthcode.RoleClinic
	return []route{
		{Method: "GET", Path: "/api/v1/records", Roles: []healthcode.Role{epi, auditor}, h: s.listRecords},
		{Method: "GET", Path: "/api/v1/me/records", Roles: citizenOnly, h: s.listRecords},
		{Method: "POST", Path: "/api/v1/records/{id}/confirm", Roles: []healthcode.Role{clinic, epi}, h: s.signRecord(func(ctx context.Context, p *healthcode.Principal, id int64) (*healthcode.PendingRecord, error) {
			return s.Venues.ConfirmRecord(ctx, p, id)
		})},
		{Method: "POST", Path: "/api/v1/records/{id}/cosign", Roles: []healthcode.Role{auditor}, h: s.signRecord(func(ctx context.Context, p *healthcode.Principal, id int64) (*healthcode.PendingRecord, error) {
			return s.Venues.CoSignRecord(ctx, p, id)
		})},
		{Method: "POST", Path: "/api/v1/records/{id}/refuse", Roles: []healthcode.Role{clinic, epi, auditor}, h: s.signRecord(func(ctx context.Context, p *healthcode.Principal, id int64) (*healthcode.PendingRecord, error) {
			return s.Venues.RefuseRecord(ctx, p, id)
		})},
		{Method: "POST", Path: "/api/v1/trace/unmask", Roles: []healthcode.Role{epi}, h: s.requestUnmask},
		{Method: "POST", Path: "/api/v1/unmask/{id}/approve", Roles: []healthcode.Role{approver}, h: s.answerUnmask(func(ctx context.Context, p *healthcode.Principal, id int64) (*healthcode.UnmaskRequest, error) {
			return s.Venues.ApproveUnmask(ctx, p, id)
		})},
		{Method: "POST", Path: "/api/v1/unmask/{id}/refuse", Roles: []healthcode.Role{approver}, h: s.answerUnmask(func(ctx context.Context, p *healthcode.Principal, id int64) (*healthcode.UnmaskRequest, error) {
			return s.Venues.RefuseUnmask(ctx, p, id)
		})},
		{Method: "GET", Path: "/api/v1/unmask/{id}", Roles: []healthcode.Role{epi}, h: s.unmask},
	}
}
