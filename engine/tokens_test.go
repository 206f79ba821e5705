package engine_test

import (
	"testing"

	"healthcode"
)

// TestOneAdminCannotActAsOthers: one admin alone gets no token for an
// approver, an auditor or another admin — the call only proposes it, and
// repeating it, or approving it as a proposal, yields nothing; the same call
// by a second admin (another official) issues it. A token for an operator,
// or an admin's own, needs no second admin.
func TestOneAdminCannotActAsOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 1})
	ctx := e.ctx
	unit, err := e.eng.CreateUnit(ctx, admin, healthcode.Unit{Name: "市卫健委"})
	if err != nil {
		t.Fatal(err)
	}
	official := func(name string, role healthcode.Role) *healthcode.Official {
		t.Helper()
		o, prop, err := e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: name, Role: role, Unit: unit.ID})
		if err != nil {
			t.Fatal(err)
		}
		if prop != nil {
			if o, err = e.eng.ApproveOfficial(ctx, admin2, prop.ID); err != nil {
				t.Fatal(err)
			}
		}
		return o
	}
	approver := official("审批人 王强", healthcode.RoleApprover)
	auditor := official("监督员 孙丽", healthcode.RoleAuditor)
	operator := official("操作员 赵敏", healthcode.RoleOperator)
	// A third admin: the second admin for a token for admin2.
	third := official("系统管理员 周涛", healthcode.RoleAdmin)
	if _, prop, err := e.eng.IssueToken(ctx, admin, third.ID); err != nil || prop == nil {
		t.Fatalf("a token for a new admin by one admin: %+v, %v", prop, err)
	}
	thirdTok, _, err := e.eng.IssueToken(ctx, admin2, third.ID)
	if err != nil || thirdTok == nil {
		t.Fatalf("the second admin issues the new admin's token: %+v, %v", thirdTok, err)
	}
	admin3 := &thirdTok.Token.Principal

	for _, target := range []struct {
		what   string
		id     string
		role   healthcode.Role
		second *healthcode.Principal
	}{
		{"an approver", approver.ID, healthcode.RoleApprover, admin2},
		{"an auditor", auditor.ID, healthcode.RoleAuditor, admin2},
		{"another admin", admin2.ID, healthcode.RoleAdmin, admin3},
	} {
		it, prop, err := e.eng.IssueToken(ctx, admin, target.id)
		if err != nil || it != nil || prop == nil || !prop.Token || prop.Status != healthcode.ProposalPending || prop.Official.ID != target.id {
			t.Fatalf("one admin asks for a token for %s: token %+v, proposal %+v, %v; want a pending token proposal and no token", target.what, it, prop, err)
		}
		// The same admin again, or approving the proposal: nothing usable.
		it, again, err := e.eng.IssueToken(ctx, admin, target.id)
		wantCode(t, "the proposer issuing the token "+target.what, err, healthcode.EFORBIDDEN, "official.self_approval")
		if it != nil || again != nil {
			t.Fatalf("the proposer again for %s: %+v, %+v", target.what, it, again)
		}
		_, err = e.eng.ApproveOfficial(ctx, admin, prop.ID)
		wantCode(t, "the proposer approving the token proposal for "+target.what, err, healthcode.EFORBIDDEN, "official.self_approval")
		// Lawful: the second admin, another official, issues it.
		it, p2, err := e.eng.IssueToken(ctx, target.second, target.id)
		if err != nil || it == nil || p2 != nil {
			t.Fatalf("the second admin issues the token for %s: %+v, %+v, %v", target.what, it, p2, err)
		}
		got, err := e.eng.Authenticate(ctx, it.Secret)
		if err != nil || got.ID != target.id || got.Role != target.role || it.Token.IssuedBy != target.second.ID {
			t.Fatalf("the token for %s speaks for %+v (issued by %s), %v", target.what, got, it.Token.IssuedBy, err)
		}
		// The proposal is used: the first admin asking again only proposes again.
		it, prop, err = e.eng.IssueToken(ctx, admin, target.id)
		if err != nil || it != nil || prop == nil {
			t.Fatalf("one admin asks again for %s: %+v, %+v, %v", target.what, it, prop, err)
		}
		if _, err := e.eng.RefuseOfficial(ctx, target.second, prop.ID); err != nil {
			t.Fatal(err)
		}
	}

	// A refused proposal yields nothing to anyone: the second admin's call
	// proposes anew.
	it, prop, err := e.eng.IssueToken(ctx, admin2, approver.ID)
	if err != nil || it != nil || prop == nil {
		t.Fatalf("after a refusal, the second admin alone: %+v, %+v, %v", it, prop, err)
	}
	// A token proposal is not approved as an official's creation.
	_, err = e.eng.ApproveOfficial(ctx, admin, prop.ID)
	wantCode(t, "a token proposal approved as a creation", err, healthcode.EINVALID, "proposal.token")

	// An operator's token needs a second admin too; only an admin's own
	// does not.
	it, prop, err = e.eng.IssueToken(ctx, admin, operator.ID)
	if err != nil || it != nil || prop == nil {
		t.Fatalf("operator token by one admin: %+v, %+v, %v: want only a proposal", it, prop, err)
	}
	if it, prop, err = e.eng.IssueToken(ctx, admin2, operator.ID); err != nil || it == nil || prop != nil {
		t.Fatalf("operator token by the second admin: %+v, %+v, %v", it, prop, err)
	}
	if it, prop, err = e.eng.IssueToken(ctx, admin, admin.ID); err != nil || it == nil || prop != nil {
		t.Fatalf("an admin's own token: %+v, %+v, %v", it, prop, err)
	}
}

// TestOneAdminCannotStaffTwoUnits: one admin alone creating a lab and a
// sampler (of two units, who together could turn a person red) gets only
// proposals, no officials and no tokens; a second admin must approve each.
func TestOneAdminCannotStaffTwoUnits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	ctx := e.ctx
	ua, err := e.eng.CreateUnit(ctx, admin, healthcode.Unit{Name: "采样点 A"})
	if err != nil {
		t.Fatal(err)
	}
	ub, err := e.eng.CreateUnit(ctx, admin, healthcode.Unit{Name: "检测机构 B"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		role healthcode.Role
		unit string
	}{{healthcode.RoleSampler, ua.ID}, {healthcode.RoleLab, ub.ID}, {healthcode.RoleClinic, ub.ID}, {healthcode.RoleEpidemiologist, ua.ID}, {healthcode.RoleOperator, ua.ID}} {
		o, prop, err := e.eng.CreateOfficial(ctx, admin, healthcode.Official{Name: "官员 " + string(c.role), Role: c.role, Unit: c.unit})
		if err != nil || o != nil || prop == nil {
			t.Fatalf("one admin creates a %s: %+v, %+v, %v: want only a proposal", c.role, o, prop, err)
		}
		it, tprop, err := e.eng.IssueToken(ctx, admin, prop.Official.ID)
		if it != nil || tprop != nil || err == nil {
			t.Fatalf("a token for a proposed %s: %+v, %+v, %v", c.role, it, tprop, err)
		}
		_, err = e.eng.ApproveOfficial(ctx, admin, prop.ID)
		wantCode(t, "the proposer approves their own "+string(c.role), err, healthcode.EFORBIDDEN, "")
		if o, err = e.eng.ApproveOfficial(ctx, admin2, prop.ID); err != nil || o == nil {
			t.Fatalf("the second admin approves the %s: %+v, %v", c.role, o, err)
		}
		// The official exists now, but one admin alone still gets no token.
		if it, tprop, err = e.eng.IssueToken(ctx, admin, o.ID); err != nil || it != nil || tprop == nil {
			t.Fatalf("one admin's token for the %s: %+v, %+v, %v: want only a proposal", c.role, it, tprop, err)
		}
	}
}

// TestCitizenTokenByAdminIsShownToThePerson: an admin issues a token that
// speaks for a person only for a stated purpose of the closed list, and the
// person sees it in their access records, naming the admin; the log names
// the admin too.
func TestCitizenTokenByAdminIsShownToThePerson(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 2})
	ctx := e.ctx
	subject := e.subj[0]
	for _, purpose := range []string{"", "curiosity", "in_person_request "} {
		_, err := e.eng.IssueCitizenToken(ctx, admin, subject, purpose)
		wantCode(t, "a citizen token for purpose "+purpose, err, healthcode.EINVALID, "token.purpose")
	}
	_, err := e.eng.IssueCitizenToken(ctx, lab, subject, "in_person_request")
	wantCode(t, "a lab issues a citizen token", err, healthcode.EFORBIDDEN, "auth.role")

	size := e.logSize()
	it, err := e.eng.IssueCitizenToken(ctx, admin, subject, "in_person_request")
	if err != nil {
		t.Fatal(err)
	}
	// The person, with their own token, sees which admin made one and why.
	person := &healthcode.Principal{Name: "本人", Role: healthcode.RoleCitizen, Subject: subject}
	own, err := e.eng.CreateToken(ctx, person)
	if err != nil {
		t.Fatal(err)
	}
	me, err := e.eng.Authenticate(ctx, own)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.eng.AccessRecords(ctx, me)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, r := range recs {
		if r.Actor.ID == admin.ID && r.Actor.Role == healthcode.RoleAdmin && r.Purpose == "in_person_request" && r.Subject == subject {
			found++
		}
	}
	if found != 1 {
		t.Fatalf("the person's access records %+v: want one naming admin %s, purpose in_person_request", recs, admin.ID)
	}
	// Another person's records do not show it.
	other := &healthcode.Principal{Name: "他人", Role: healthcode.RoleCitizen, Subject: e.subj[1]}
	otherTok, err := e.eng.CreateToken(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	op, err := e.eng.Authenticate(ctx, otherTok)
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := e.eng.AccessRecords(ctx, op); err != nil {
		t.Fatal(err)
	} else {
		for _, r := range recs {
			if r.Actor.ID == admin.ID {
				t.Errorf("another person's access records show the admin's token: %+v", r)
			}
		}
	}
	// The log: the issue names the admin, about the person.
	logged := false
	for _, l := range e.openedLeaves(size) {
		if l.Type == healthcode.LogToken && l.Subject == subject && names(l, admin) && l.RuleID == "token/"+it.Token.ID {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no log entry names admin %s issuing token %s about the person", admin.ID, it.Token.ID)
	}
}
