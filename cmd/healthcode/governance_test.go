package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
)

func TestOverrideNeedsAnotherUnitAndEndsAtExpiry(t *testing.T) {
	tn := startNode(t, 1000)
	ctx := context.Background()
	operator := tn.token(t, healthcode.Principal{ID: "op-1", Name: "操作员 赵敏", Role: healthcode.RoleOperator, Unit: "市大数据局"})
	sameUnit := tn.token(t, healthcode.Principal{ID: "appr-9", Name: "审批人 钱多", Role: healthcode.RoleApprover, Unit: "市大数据局"})
	// One official id holds one role: the operator cannot be registered as
	// an approver of another unit too, so "approving oneself" is the
	// operator's own token, refused by role.
	if _, err := tn.engine.CreateToken(ctx, &healthcode.Principal{ID: "op-1", Name: "操作员 赵敏", Role: healthcode.RoleApprover, Unit: "市卫健委"}); healthcode.ErrorDetail(err) != "official.exists" {
		t.Fatalf("the operator registered as an approver too: %v", err)
	}
	self := operator
	approver := tn.token(t, healthcode.Principal{ID: "appr-1", Name: "审批人 王强", Role: healthcode.RoleApprover, Unit: "市卫健委"})
	auditor := tn.token(t, healthcode.Principal{ID: "aud-1", Name: "监督员 孙丽", Role: healthcode.RoleAuditor, Unit: "市纪委监委"})
	clinic := tn.token(t, healthcode.Principal{ID: "clinic-1", Name: "郑大一附院", Role: healthcode.RoleClinic})
	subj, _, cit := tn.citizen(t, 1)
	patientSubj, patient, _ := tn.citizen(t, 2)
	tn.sharePresence(t, patientSubj, subj)
	dx := tn.submit(t, clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: patient, ExternalID: "DX-1", ObservedAt: t0.Add(-time.Hour),
		Diagnosis: "confirmed"})
	expires := t0.Add(3 * 24 * time.Hour)
	req := hchttp.OverrideJSON{Subjects: []string{subj}, Colour: "red", Reason: "epidemiologist_judgement", Basis: []int64{dx.EvidenceID},
		Case: dx.Case, Note: "shared a household with the case", Expires: expires}

	// Bad requests change nothing.
	for name, tc := range map[string]struct {
		mod    func(*hchttp.OverrideJSON)
		reason string
	}{
		"free-text reason":   {func(o *hchttp.OverrideJSON) { o.Reason = "protest organiser" }, "override.reason"},
		"no basis":           {func(o *hchttp.OverrideJSON) { o.Basis = nil }, "override.no_case"},
		"no case":            {func(o *hchttp.OverrideJSON) { o.Case = "" }, "override.no_case"},
		"expiry too far":     {func(o *hchttp.OverrideJSON) { o.Expires = t0.Add(15 * 24 * time.Hour) }, "override.expiry"},
		"expiry in the past": {func(o *hchttp.OverrideJSON) { o.Expires = t0.Add(-time.Hour) }, "override.expiry"},
		"unknown person":     {func(o *hchttp.OverrideJSON) { o.Subjects = []string{"pnobody"} }, "person.unknown"},
		"basis not a case":   {func(o *hchttp.OverrideJSON) { o.Basis = []int64{999999} }, "override.no_case"},
		"free-text case":     {func(o *hchttp.OverrideJSON) { o.Case = "none" }, "override.unknown_case"},
		"unlinked person": {func(o *hchttp.OverrideJSON) {
			o.Subjects = []string{patientSubj, tn.engine.Keys.Pseudonymize(tn.cfg.Region, tn.city.Person(9).IDNumber)}
		}, "override.case_not_linked"},
	} {
		o := req
		tc.mod(&o)
		var p hchttp.Problem
		if st := tn.post(t, "/api/v1/overrides", operator, o, &p); st/100 != 4 || p.Reason != tc.reason {
			t.Errorf("override with %s: %d %q, want 4xx %q", name, st, p.Reason, tc.reason)
		}
	}

	var o hchttp.OverrideJSON
	if st := tn.post(t, "/api/v1/overrides", operator, req, &o); st != 202 || o.Status != "pending" {
		t.Fatalf("request: %d %+v", st, o)
	}
	if c := tn.myCode(t, cit); c.Decision.Colour != "green" || len(c.Pending) != 1 || !strings.Contains(c.Pending[0].Requester, "操作员 赵敏") {
		t.Fatalf("an unapproved override changed the colour, or the person does not see the attempt: %+v %+v", c.Decision, c.Pending)
	}
	approve := fmt.Sprintf("/api/v1/overrides/%d/approve", o.ID)
	var p hchttp.Problem
	if st := tn.post(t, approve, self, nil, &p); st != 403 || p.Reason != "auth.role" {
		t.Fatalf("self-approval: %d %+v", st, p)
	}
	if st := tn.post(t, approve, sameUnit, nil, &p); st != 403 || p.Reason != "override.same_unit" {
		t.Fatalf("approval within the unit: %d %+v", st, p)
	}
	if st := tn.post(t, approve, approver, nil, &o); st != 200 || o.Status != "active" {
		t.Fatalf("approval: %d %+v", st, o)
	}
	c := tn.myCode(t, cit)
	if c.Decision.Colour != "red" || !strings.Contains(c.Decision.Actor, "操作员 赵敏") || !strings.Contains(c.Decision.Actor, "审批人 王强") {
		t.Fatalf("the person does not see the override with both names: %+v", c.Decision)
	}
	if !strings.Contains(c.Decision.Text.EN, "epidemiologist") || c.Decision.LiftsAt == nil || !c.Decision.LiftsAt.Equal(expires) {
		t.Errorf("the override's reason and end are not shown: %+v", c.Decision)
	}

	// An approver may refuse an attempt, with a reason; it is logged and
	// leaves the person's view.
	var refused hchttp.OverrideJSON
	tn.post(t, "/api/v1/overrides", operator, req, &refused)
	if st := tn.post(t, fmt.Sprintf("/api/v1/overrides/%d/refuse", refused.ID), approver, map[string]string{"reason": "no household contact on record"}, &refused); st != 200 || refused.Status != "refused" {
		t.Fatalf("refuse: %d %+v", st, refused)
	}
	if c := tn.myCode(t, cit); c.Decision.Colour != "red" || len(c.Pending) != 0 {
		t.Fatalf("after a refusal: %+v %+v", c.Decision, c.Pending)
	}

	// A bulk override also needs an auditor.
	var many []string
	for i := 0; i < healthcode.BulkLimit+1; i++ {
		s, _, _ := tn.citizen(t, 100+i)
		many = append(many, s)
	}
	tn.sharePresence(t, append([]string{patientSubj}, many...)...)
	bulk := req
	bulk.Subjects = many
	if st := tn.post(t, "/api/v1/overrides", operator, bulk, &o); st != 202 || !o.NeedsCoSig {
		t.Fatalf("bulk request: %d %+v", st, o)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/overrides/%d/approve", o.ID), approver, nil, &o); st != 200 || o.Status != "pending" {
		t.Fatalf("a bulk override took effect without an auditor: %d %+v", st, o)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/overrides/%d/cosign", o.ID), auditor, nil, &o); st != 200 || o.Status != "active" {
		t.Fatalf("co-sign: %d %+v", st, o)
	}

	// At expiry it ends by itself.
	tn.clock.Set(expires.Add(time.Minute))
	if _, _, err := tn.engine.ReviewDue(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if c := tn.myCode(t, cit); c.Decision.Colour != "green" {
		t.Fatalf("after expiry: %+v", c.Decision)
	}
}

func TestAppeals(t *testing.T) {
	tn := startNode(t, 1000)
	ctx := context.Background()
	operator := tn.token(t, healthcode.Principal{ID: "op-1", Name: "操作员 赵敏", Role: healthcode.RoleOperator, Unit: "市大数据局"})
	approver := tn.token(t, healthcode.Principal{ID: "appr-1", Name: "审批人 王强", Role: healthcode.RoleApprover, Unit: "市卫健委"})
	auditor := tn.token(t, healthcode.Principal{ID: "aud-1", Name: "监督员 孙丽", Role: healthcode.RoleAuditor, Unit: "市纪委监委"})
	clinic := tn.token(t, healthcode.Principal{ID: "clinic-1", Name: "郑大一附院", Role: healthcode.RoleClinic})
	lab := tn.token(t, healthcode.Principal{ID: "lab-1", Name: "检测所", Role: healthcode.RoleLab, Unit: "检验科"})
	subjY, _, y := tn.citizen(t, 1)
	_, idZ, z := tn.citizen(t, 2)
	patientSubj, patient, _ := tn.citizen(t, 3)
	tn.sharePresence(t, patientSubj, subjY)
	dx := tn.submit(t, clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: patient, ExternalID: "DX-1", ObservedAt: t0.Add(-time.Hour),
		Diagnosis: "confirmed"})

	// Y is red by an override that lapses in an hour; nobody runs the review.
	var o hchttp.OverrideJSON
	tn.post(t, "/api/v1/overrides", operator, hchttp.OverrideJSON{Subjects: []string{subjY}, Colour: "red", Reason: "lab_result_delayed",
		Basis: []int64{dx.EvidenceID}, Case: dx.Case, Expires: t0.Add(time.Hour)}, &o)
	tn.post(t, fmt.Sprintf("/api/v1/overrides/%d/approve", o.ID), approver, nil, &o)
	if c := tn.myCode(t, y); c.Decision.Colour != "red" {
		t.Fatalf("Y: %+v", c.Decision)
	}
	tn.clock.Advance(2 * time.Hour)
	var a hchttp.AppealJSON
	if st := tn.post(t, "/api/v1/me/appeals", y, map[string]string{"kind": "colour", "note": "the override has lapsed"}, &a); st != 201 || a.Status != "granted" || a.AnsweredBy != "system" {
		t.Fatalf("appeal against a lapsed override: %d %+v", st, a)
	}
	if c := tn.myCode(t, y); c.Decision.Colour != "green" {
		t.Fatalf("Y after the appeal: %+v", c.Decision)
	}

	// Z is red on a positive test: the appeal waits for an operator.
	tn.submit(t, lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: idZ, ExternalID: "Z-1", ObservedAt: tn.clock.Now().Add(-time.Hour), Result: "positive"})
	if st := tn.post(t, "/api/v1/me/appeals", z, map[string]string{"kind": "colour", "note": "I was never tested"}, &a); st != 201 || a.Status != "open" {
		t.Fatalf("appeal: %d %+v", st, a)
	}
	var p hchttp.Problem
	if st := tn.post(t, "/api/v1/me/appeals", z, map[string]string{"kind": "colour"}, &p); st != 409 || p.Reason != "appeal.duplicate" {
		t.Fatalf("duplicate appeal: %d %+v", st, p)
	}
	if st := tn.post(t, "/api/v1/me/appeals", z, map[string]string{"kind": "other"}, &p); st != 400 {
		t.Fatalf("appeal of an unknown kind: %d", st)
	}
	// Oversight does not answer an appeal an operator still owns.
	if st := tn.post(t, fmt.Sprintf("/api/v1/appeals/%d/answer", a.ID), auditor, map[string]any{"grant": false, "answer": "x"}, &p); st != 403 || p.Reason != "appeal.not_escalated" {
		t.Fatalf("an auditor answering an open appeal: %d %+v", st, p)
	}
	// Nobody answers; past the deadline it escalates to oversight.
	tn.clock.Advance(healthcode.AppealDeadline + time.Hour)
	if n, err := tn.engine.EscalateAppeals(ctx); err != nil || n != 1 {
		t.Fatalf("escalate: %d, %v", n, err)
	}
	var list struct {
		Appeals []hchttp.AppealJSON `json:"appeals"`
	}
	if st := tn.do(t, "GET", "/api/v1/appeals?status=escalated", auditor, nil, &list); st != 200 || len(list.Appeals) != 1 || list.Appeals[0].ID != a.ID {
		t.Fatalf("oversight's list: %d %+v", st, list)
	}
	// An operator answers at last: denied needs a reason; granted corrects the colour.
	if st := tn.post(t, fmt.Sprintf("/api/v1/appeals/%d/answer", a.ID), operator, map[string]any{"grant": false, "answer": ""}, &p); st != 400 {
		t.Fatalf("an answer without a reason: %d", st)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/appeals/%d/answer", a.ID), operator, map[string]any{"grant": true, "answer": "sample mix-up confirmed by the lab"}, &a); st != 200 || a.Status != "granted" {
		t.Fatalf("answer: %d %+v", st, a)
	}
	if c := tn.myCode(t, z); c.Decision.Colour != "green" || !strings.Contains(c.Decision.Actor, "操作员 赵敏") {
		t.Fatalf("Z after the granted appeal: %+v", c.Decision)
	}
	if st := tn.do(t, "GET", "/api/v1/me/appeals", z, nil, &list); st != 200 || len(list.Appeals) != 1 || list.Appeals[0].Answer == "" {
		t.Fatalf("Z's appeals: %d %+v", st, list)
	}
	// A correction toward green never hides what comes after it.
	tn.clock.Advance(time.Hour)
	tn.submit(t, lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: idZ, ExternalID: "Z-2", ObservedAt: tn.clock.Now().Add(-time.Minute), Result: "positive"})
	if c := tn.myCode(t, z); c.Decision.Colour != "red" || c.Decision.RuleID != "positive_test" {
		t.Fatalf("a positive test after a green override: %+v", c.Decision)
	}

	// An official's read needs a purpose and is shown to the person.
	if st := tn.do(t, "GET", "/api/v1/people/"+subjY+"/code", operator, nil, &p); st != 400 || p.Reason != "access.purpose" {
		t.Fatalf("a read without a purpose: %d %+v", st, p)
	}
	if st := tn.do(t, "GET", "/api/v1/people/"+subjY+"/code?purpose=appeal_review&case="+dx.Case, operator, nil, nil); st != 200 {
		t.Fatalf("a read with a purpose: %d", st)
	}
	var access struct {
		Access []hchttp.AccessJSON `json:"access"`
	}
	if st := tn.do(t, "GET", "/api/v1/me/access", y, nil, &access); st != 200 || len(access.Access) != 1 || access.Access[0].Who != "操作员 赵敏" {
		t.Fatalf("Y does not see who read their code: %d %+v", st, access)
	}
	// The export holds the person's own identity and the deletion dates.
	var x map[string]any
	if st := tn.do(t, "GET", "/api/v1/me/export", z, nil, &x); st != 200 {
		t.Fatalf("export: %d", st)
	}
	if personal, _ := x["personal"].(map[string]any); personal["id_number"] != idZ {
		t.Errorf("export lacks the person's ID number: %v", x["personal"])
	}
	if evs, _ := x["evidence"].([]any); len(evs) != 2 || evs[0].(map[string]any)["deleted_after"] == nil {
		t.Errorf("export evidence: %v", x["evidence"])
	}
}
