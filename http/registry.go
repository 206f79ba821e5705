package http

import (
	"context"
	"net/http"
	"time"

	"healthcode"
	"healthcode/engine"
)

// RegistryService is what the registry endpoints need: units, officials
// and tokens, kept by admins through the log (engine.Engine is one).
type RegistryService interface {
	CreateUnit(ctx context.Context, actor *healthcode.Principal, u healthcode.Unit) (*healthcode.Unit, error)
	CreateOfficial(ctx context.Context, actor *healthcode.Principal, o healthcode.Official) (*healthcode.Official, *healthcode.OfficialProposal, error)
	ChangeOfficial(ctx context.Context, actor *healthcode.Principal, id, name, unit string) (*healthcode.Official, *healthcode.OfficialProposal, error)
	ApproveOfficial(ctx context.Context, actor *healthcode.Principal, proposal int64) (*healthcode.Official, error)
	RefuseOfficial(ctx context.Context, actor *healthcode.Principal, proposal int64) (*healthcode.OfficialProposal, error)
	RevokeOfficial(ctx context.Context, actor *healthcode.Principal, id string) (*healthcode.Official, error)
	IssueToken(ctx context.Context, actor *healthcode.Principal, officialID string) (*engine.IssuedToken, *healthcode.OfficialProposal, error)
	RevokeToken(ctx context.Context, actor *healthcode.Principal, tokenID string) (*healthcode.Token, error)
	Registry(ctx context.Context, actor *healthcode.Principal) (*engine.Registry, error)
}

// registry is the server's registry service: its authenticator, if it
// keeps the registry.
func (s *Server) registry() (RegistryService, error) {
	if r, ok := s.Auth.(RegistryService); ok {
		return r, nil
	}
	return nil, healthcode.Errorfd(healthcode.EUNAVAILABLE, "registry.none", "this node keeps no registry")
}

// registryRoutes are the registry's endpoints: admins act, auditors read,
// and anyone holding a token may revoke it.
func (s *Server) registryRoutes() []route {
	adminAuditor := []healthcode.Role{healthcode.RoleAdmin, healthcode.RoleAuditor}
	return []route{
		{Method: "GET", Path: "/api/v1/registry", Roles: adminAuditor, h: s.listRegistry},
		{Method: "POST", Path: "/api/v1/units", Roles: adminOnly, h: s.createUnit},
		{Method: "POST", Path: "/api/v1/officials", Roles: adminOnly, h: s.createOfficial},
		{Method: "POST", Path: "/api/v1/officials/{id}", Roles: adminOnly, h: s.changeOfficial},
		{Method: "POST", Path: "/api/v1/officials/{id}/revoke", Roles: adminOnly, h: s.revokeOfficial},
		{Method: "POST", Path: "/api/v1/officials/{id}/tokens", Roles: adminOnly, h: s.issueToken},
		{Method: "POST", Path: "/api/v1/official-proposals/{id}/approve", Roles: adminOnly, h: s.decideProposal(true)},
		{Method: "POST", Path: "/api/v1/official-proposals/{id}/refuse", Roles: adminOnly, h: s.decideProposal(false)},
		{Method: "POST", Path: "/api/v1/tokens/{id}/revoke", Roles: healthcode.Roles, h: s.revokeToken},
	}
}

// UnitJSON is a unit of the registry.
type UnitJSON struct {
	ID        string    `json:"id,omitempty"`
	Name      string    `json:"name"`
	Region    string    `json:"region,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// OfficialJSON is an official of the registry, or a request to create or
// change one.
type OfficialJSON struct {
	ID        string    `json:"id,omitempty"`
	Name      string    `json:"name,omitempty"`
	Role      string    `json:"role,omitempty"`
	Unit      string    `json:"unit,omitempty"`
	Status    string    `json:"status,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// ProposalJSON is a creation or change of an official (or a token for one)
// awaiting a second admin.
type ProposalJSON struct {
	ID         int64        `json:"id"`
	Official   OfficialJSON `json:"official"`
	Change     bool         `json:"change"`
	Token      bool         `json:"token,omitempty"` // a token for an existing official: the second admin issues it
	Status     string       `json:"status"`
	ProposedBy string       `json:"proposed_by"`
	ProposedAt time.Time    `json:"proposed_at"`
	DecidedBy  string       `json:"decided_by,omitempty"`
}

// TokenJSON is a token's record; Token (the secret) only in the answer that
// issues it.
type TokenJSON struct {
	ID        string    `json:"id"`
	Token     string    `json:"token,omitempty"`
	Official  string    `json:"official,omitempty"`
	Role      string    `json:"role"`
	Unit      string    `json:"unit,omitempty"`
	IssuedAt  time.Time `json:"issued_at"`
	Expires   time.Time `json:"expires"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

func unitJSON(u *healthcode.Unit) UnitJSON {
	return UnitJSON{ID: u.ID, Name: u.Name, Region: u.Region, CreatedAt: u.CreatedAt, CreatedBy: u.CreatedBy}
}

func officialJSON(o *healthcode.Official) OfficialJSON {
	return OfficialJSON{ID: o.ID, Name: o.Name, Role: string(o.Role), Unit: o.Unit, Status: o.Status, CreatedAt: o.CreatedAt, CreatedBy: o.CreatedBy}
}

func proposalJSON(p *healthcode.OfficialProposal) ProposalJSON {
	return ProposalJSON{ID: p.ID, Official: officialJSON(&p.Official), Change: p.Change, Token: p.Token, Status: p.Status, ProposedBy: p.ProposedBy.ID,
		ProposedAt: p.ProposedAt, DecidedBy: p.DecidedBy}
}

func tokenJSON(t *healthcode.Token) TokenJSON {
	j := TokenJSON{ID: t.ID, Role: string(t.Principal.Role), IssuedAt: t.IssuedAt, Expires: t.Expires, RevokedAt: t.RevokedAt}
	if t.Principal.Role != healthcode.RoleCitizen {
		j.Official, j.Unit = t.Principal.ID, t.Principal.Unit
	}
	return j
}

// officialOrProposal answers 201 with the official, or 202 with the
// proposal a second admin must approve.
func officialOrProposal(w http.ResponseWriter, o *healthcode.Official, p *healthcode.OfficialProposal) error {
	if p != nil {
		return writeJSON(w, http.StatusAccepted, proposalJSON(p))
	}
	return writeJSON(w, http.StatusCreated, officialJSON(o))
}

func (s *Server) listRegistry(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	x, err := reg.Registry(r.Context(), p)
	if err != nil {
		return err
	}
	out := struct {
		Units     []UnitJSON     `json:"units"`
		Officials []OfficialJSON `json:"officials"`
		Proposals []ProposalJSON `json:"proposals"`
	}{Units: []UnitJSON{}, Officials: []OfficialJSON{}, Proposals: []ProposalJSON{}}
	for i := range x.Units {
		out.Units = append(out.Units, unitJSON(&x.Units[i]))
	}
	for i := range x.Officials {
		out.Officials = append(out.Officials, officialJSON(&x.Officials[i]))
	}
	for i := range x.Proposals {
		out.Proposals = append(out.Proposals, proposalJSON(&x.Proposals[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createUnit(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	var in UnitJSON
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := reg.CreateUnit(r.Context(), p, healthcode.Unit{Name: in.Name, Region: in.Region})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, unitJSON(u))
}

func (s *Server) createOfficial(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	var in OfficialJSON
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, prop, err := reg.CreateOfficial(r.Context(), p, healthcode.Official{Name: in.Name, Role: healthcode.Role(in.Role), Unit: in.Unit})
	if err != nil {
		return err
	}
	return officialOrProposal(w, o, prop)
}

func (s *Server) changeOfficial(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	var in OfficialJSON
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Role != "" || in.Status != "" || in.ID != "" {
		return healthcode.Errorfd(healthcode.EINVALID, "official.change", "a change gives a name or a unit: a role never changes, and revocation has its own endpoint")
	}
	o, prop, err := reg.ChangeOfficial(r.Context(), p, r.PathValue("id"), in.Name, in.Unit)
	if err != nil {
		return err
	}
	if prop != nil {
		return writeJSON(w, http.StatusAccepted, proposalJSON(prop))
	}
	return writeJSON(w, http.StatusOK, officialJSON(o))
}

func (s *Server) revokeOfficial(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	o, err := reg.RevokeOfficial(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, officialJSON(o))
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	it, prop, err := reg.IssueToken(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if prop != nil {
		return writeJSON(w, http.StatusAccepted, proposalJSON(prop))
	}
	j := tokenJSON(&it.Token)
	j.Token = it.Secret
	return writeJSON(w, http.StatusCreated, j)
}

func (s *Server) decideProposal(approve bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		reg, err := s.registry()
		if err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if approve {
			o, err := reg.ApproveOfficial(r.Context(), p, id)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, officialJSON(o))
		}
		prop, err := reg.RefuseOfficial(r.Context(), p, id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, proposalJSON(prop))
	}
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	t, err := reg.RevokeToken(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenJSON(t))
}
