package engine_test

import (
	"testing"
	"time"

	"healthcode"
)

// TestPendingContactIsNoLink: contacts filed on one epidemiologist's
// interview, still awaiting a second epidemiologist of another unit, do not
// link their people to the case for a restrictive override (issue 9): an
// operator and an approver citing the case get nowhere until the records
// are confirmed. A purpose-bound read citing the case still may rest on
// them, so that the confirmation can be investigated.
func TestPendingContactIsNoLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 5})
	e.enrol(epi, epi2)
	now := e.clock.Now()
	caseID := e.openCaseOf(0, now)
	var basis int64
	e.view(func(tx healthcode.ReadTx) error {
		c, err := tx.Case(e.ctx, caseID)
		basis = c.Diagnosis
		return err
	})
	op := e.registered("操作员 钱明", healthcode.RoleOperator, "市大数据局")
	ap := e.registered("审批员 周洁", healthcode.RoleApprover, "市卫健委")
	var pending []int64
	for i := 1; i <= 3; i++ {
		o := e.one(epi, contact(healthcode.CloseContact, i, e.ids, "I-"+e.ids[i], caseID, now, interview))
		if o.Status != healthcode.Pending {
			t.Fatalf("interview contact %d: %s %v", i, o.Status, o.Err)
		}
		pending = append(pending, o.Pending)
	}
	people := e.subj[1:4]
	o, err := e.eng.RequestOverride(e.ctx, op, redOverride(people, caseID, basis, now))
	if healthcode.ErrorDetail(err) != "override.case_not_linked" {
		if err == nil {
			o, err = e.eng.ApproveOverride(e.ctx, ap, o.ID)
		}
		t.Fatalf("red override resting on unconfirmed contacts: %+v %v, want override.case_not_linked", o, err)
	}
	for i := 1; i <= 3; i++ {
		if c := e.colour(i); c != healthcode.Green {
			t.Fatalf("person %d is %s on unconfirmed contacts", i, c)
		}
	}
	// A purpose-bound read (logged in the person's access records) may
	// cite the case the pending record names.
	if _, err := e.eng.CodeFor(e.ctx, epi2, e.subj[1], "contact_tracing", caseID); err != nil {
		t.Errorf("read citing the case of a pending contact: %v", err)
	}
	// Once a second epidemiologist confirms them, the records are in force
	// and link their people.
	for _, id := range pending {
		if r, err := e.eng.ConfirmRecord(e.ctx, epi2, id); err != nil || r.Status != healthcode.RecordInForce {
			t.Fatalf("confirmation of %d: %+v %v", id, r, err)
		}
	}
	if _, err := e.eng.RequestOverride(e.ctx, op, redOverride(people, caseID, basis, now)); err != nil {
		t.Fatalf("override citing confirmed contacts: %v", err)
	}
}

// TestSplitDesignationsNeedCoSign: 27 people at two venues, designated in
// two risk designations each under the bound (here 20 people) — by one
// epidemiologist–approver pair, across two cases, across two approvers,
// across two epidemiologists with one approver, across two pairs citing one
// case (its diagnosis, or the positive test it rests on): the designation that takes a requester, an approver or a case past
// the bound in the bulk window waits for an auditor's co-signature, and
// exposes no one until it has it.
func TestSplitDesignationsNeedCoSign(t *testing.T) {
	t.Parallel()
	type req struct {
		epi, ap   string
		whichCase int
	}
	for _, tc := range []struct {
		name   string
		second req // the first is always epi1, ap1, case 0
	}{
		{"one pair, one case", req{"epi1", "ap1", 0}},
		{"one pair, two cases", req{"epi1", "ap1", 1}},
		{"one epidemiologist, two approvers, two cases", req{"epi1", "ap2", 1}},
		{"two epidemiologists, one approver, two cases", req{"epi2", "ap1", 1}},
		{"two pairs, one case", req{"epi2", "ap2", 0}},
		{"two pairs, one case's diagnosis and its positive test", req{"epi2", "ap2", 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{people: 27})
			e.eng.DesignationCoSignAbove = 20
			who := map[string]*healthcode.Principal{
				"epi1": e.registered("流调员 李娜", healthcode.RoleEpidemiologist, "市疾控中心"),
				"epi2": e.registered("流调员 赵敏", healthcode.RoleEpidemiologist, "区疾控中心"),
				"ap1":  e.registered("审批员 周洁", healthcode.RoleApprover, "市卫健委"),
				"ap2":  e.registered("审批员 吴刚", healthcode.RoleApprover, "省卫健委"),
			}
			aud := e.registered("监督员 郑红", healthcode.RoleAuditor, "纪检监察组")
			from := e.clock.Now()
			var basis [3]int64 // the two diagnoses, and the positive test the first rests on
			for i := 0; i < 2; i++ {
				caseID := e.openCaseOf(i, from)
				e.view(func(tx healthcode.ReadTx) error {
					c, err := tx.Case(e.ctx, caseID)
					basis[i] = c.Diagnosis
					return err
				})
			}
			for _, ev := range e.evidence(e.subj[0]) {
				if ev.Kind.IsTest() && ev.Result == healthcode.Positive {
					basis[2] = ev.ID
				}
			}
			if basis[2] == 0 {
				t.Fatal("no positive test of the first case")
			}
			// Both cases were at both venues; 15 others at the first,
			// 10 at the second: 17 and 12 people, 27 in all.
			venues := [2]*healthcode.Venue{e.liveVenue("410102"), e.liveVenue("410103")}
			for i := range e.subj {
				switch {
				case i < 2:
					e.checkIn(i, venues[0], true)
					e.checkIn(i, venues[1], true)
				case i < 17:
					e.checkIn(i, venues[0], true)
				default:
					e.checkIn(i, venues[1], true)
				}
			}
			e.clock.Advance(time.Minute)
			for k, r := range []req{{"epi1", "ap1", 0}, tc.second} {
				d, err := e.eng.RequestDesignation(e.ctx, who[r.epi], healthcode.RiskDesignation{Venue: venues[k].ID, Level: healthcode.RiskHigh,
					Reason: "case_visited", Cases: []int64{basis[r.whichCase]}, From: from.Add(-time.Minute), Until: e.clock.Now().Add(-1),
					Expires: e.clock.Now().Add(healthcode.Day)})
				if err != nil {
					t.Fatal(err)
				}
				_, err = e.eng.ApproveDesignation(e.ctx, who[r.ap], d.ID)
				if k == 0 {
					if err != nil {
						t.Fatalf("first designation (17 people): %v", err)
					}
					continue
				}
				if healthcode.ErrorDetail(err) != "designation.needs_cosign" {
					t.Fatalf("second designation (27 people in all): %v, want designation.needs_cosign", err)
				}
				if got := e.evidence(e.subj[20]); len(got) != 0 {
					t.Fatalf("exposed before the auditor signed: %+v", got)
				}
				if _, err := e.eng.CoSignDesignation(e.ctx, aud, d.ID); err != nil {
					t.Fatalf("auditor's co-signature: %v", err)
				}
				if d, err = e.eng.ApproveDesignation(e.ctx, who[r.ap], d.ID); err != nil || d.Status != healthcode.DesignationApproved {
					t.Fatalf("approval after the co-signature: %+v %v", d, err)
				}
				if got := e.evidence(e.subj[20]); len(got) != 1 || got[0].Kind != healthcode.VenueExposure {
					t.Fatalf("after the co-signature: %+v", got)
				}
			}
		})
	}
}
