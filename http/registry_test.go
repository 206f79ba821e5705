package http

import (
	"encoding/json"
	"testing"

	"healthcode"
)

// TestRegistryAPI: admins keep the registry through the API, each step
// logged; a second admin who is the first, a bad request, another's token:
// each a clear error that changes nothing; a token revoked through the API
// is refused at the next request.
func TestRegistryAPI(t *testing.T) {
	f := newFixture(t)
	admin := f.tokens[healthcode.RoleAdmin]
	admin2 := pageToken(t, f, &healthcode.Principal{Name: "second admin", Role: healthcode.RoleAdmin, Unit: "unit-admin-2"})
	post := func(path, tok string, body any, want int, out any) {
		t.Helper()
		var b []byte
		if body != nil {
			b = mustJSON(t, body)
		}
		before := f.logSize(t)
		a := f.do(t, "POST", path, tok, "application/json", b)
		if a.status != want {
			t.Fatalf("POST %s: %d, want %d: %s", path, a.status, want, a.body)
		}
		after := f.logSize(t)
		if a.status >= 400 {
			if after != before {
				t.Errorf("POST %s refused but logged %d entries", path, after-before)
			}
			if out != nil {
				*out.(*Problem) = a.problem(t)
			}
			return
		}
		if after == before {
			t.Errorf("POST %s logged nothing", path)
		}
		if out != nil {
			if err := json.Unmarshal(a.body, out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var u UnitJSON
	post("/api/v1/units", admin, UnitJSON{Name: "市疾控中心"}, 201, &u)
	if u.ID == "" || u.Region != "410100" {
		t.Fatalf("unit %+v", u)
	}
	var p Problem
	post("/api/v1/units", admin, UnitJSON{Name: "x", Region: "999999"}, 400, &p)
	post("/api/v1/officials", admin, OfficialJSON{Name: "x", Role: "lab", Unit: "u-none"}, 404, &p)
	if p.Reason != "unit.unknown" {
		t.Errorf("an official of an unknown unit: %+v", p)
	}
	// Every official, an epidemiologist too, is only proposed by one admin
	// (202) and created by the second.
	var epi OfficialJSON
	var eprop ProposalJSON
	post("/api/v1/officials", admin, OfficialJSON{Name: "流调员 李娜", Role: "epidemiologist", Unit: u.ID}, 202, &eprop)
	if eprop.Official.Role != "epidemiologist" || eprop.Status != "pending" {
		t.Errorf("an epidemiologist by one admin: %+v", eprop)
	}
	post("/api/v1/official-proposals/"+itoa(eprop.ID)+"/approve", admin2, nil, 200, &epi)
	// epiToken: one admin proposes the epidemiologist's token, the second
	// issues it.
	epiToken := func(tok *TokenJSON) {
		t.Helper()
		var tp ProposalJSON
		post("/api/v1/officials/"+epi.ID+"/tokens", admin, nil, 202, &tp)
		post("/api/v1/officials/"+epi.ID+"/tokens", admin2, nil, 201, tok)
	}
	var prop ProposalJSON
	post("/api/v1/officials", admin, OfficialJSON{Name: "审批人 王强", Role: "approver", Unit: u.ID}, 202, &prop)
	approve := "/api/v1/official-proposals/" + itoa(prop.ID) + "/approve"
	post(approve, admin, nil, 403, &p)
	if p.Reason != "official.self_approval" {
		t.Errorf("the proposer approving: %+v", p)
	}
	var approver OfficialJSON
	post(approve, admin2, nil, 200, &approver)
	if approver.ID != prop.Official.ID || approver.Role != "approver" {
		t.Errorf("approved %+v", approver)
	}
	post(approve, admin2, nil, 409, &p)

	// A token for the approver: one admin only proposes it (202, nothing
	// usable); the proposer again is refused; the second admin issues it.
	var tprop ProposalJSON
	post("/api/v1/officials/"+approver.ID+"/tokens", admin, nil, 202, &tprop)
	if !tprop.Token || tprop.Official.ID != approver.ID || tprop.Status != "pending" {
		t.Errorf("a token for an approver by one admin: %+v", tprop)
	}
	post("/api/v1/officials/"+approver.ID+"/tokens", admin, nil, 403, &p)
	if p.Reason != "official.self_approval" {
		t.Errorf("the proposer issuing the approver's token: %+v", p)
	}
	var atok TokenJSON
	post("/api/v1/officials/"+approver.ID+"/tokens", admin2, nil, 201, &atok)
	if atok.Token == "" || atok.Official != approver.ID {
		t.Errorf("the approver's token from the second admin: %+v", atok)
	}

	// A token for the epidemiologist: it works until revoked by its holder.
	var tok TokenJSON
	epiToken(&tok)
	if tok.Token == "" || tok.Official != epi.ID || !tok.Expires.After(tok.IssuedAt) {
		t.Fatalf("issued %+v", tok)
	}
	list := func(tk string) int { return f.do(t, "GET", "/api/v1/designations", tk, "", nil).status }
	if st := list(tok.Token); st != 200 {
		t.Fatalf("the new token: %d", st)
	}
	post("/api/v1/tokens/"+tok.ID+"/revoke", f.tokens[healthcode.RoleCitizen], nil, 404, &p)
	post("/api/v1/tokens/"+tok.ID+"/revoke", tok.Token, nil, 200, nil)
	a := f.do(t, "GET", "/api/v1/designations", tok.Token, "", nil)
	if a.status != 401 || a.problem(t).Reason != "auth.revoked_token" {
		t.Errorf("a revoked token: %d %s", a.status, a.body)
	}

	// Revoking the official ends every token they hold.
	epiToken(&tok)
	post("/api/v1/officials/"+epi.ID+"/revoke", admin, nil, 200, nil)
	if st := list(tok.Token); st != 401 {
		t.Errorf("a revoked official's token: %d", st)
	}
	post("/api/v1/officials/"+epi.ID, admin, OfficialJSON{Role: "admin"}, 400, &p)

	// Auditors read the registry.
	a = f.do(t, "GET", "/api/v1/registry", f.tokens[healthcode.RoleAuditor], "", nil)
	var reg struct {
		Units     []UnitJSON     `json:"units"`
		Officials []OfficialJSON `json:"officials"`
		Proposals []ProposalJSON `json:"proposals"`
	}
	if err := json.Unmarshal(a.body, &reg); err != nil || a.status != 200 || len(reg.Proposals) != 5 {
		t.Fatalf("registry: %d %s", a.status, a.body)
	}
	tokens := 0
	for _, p := range reg.Proposals {
		if p.Status != "approved" {
			t.Errorf("proposal %+v not approved", p)
		}
		if p.Token {
			tokens++
		}
	}
	if tokens != 3 {
		t.Errorf("registry: %d token proposals, want 3: %s", tokens, a.body)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
