package engine_test

import (
	"testing"
	"time"

	"healthcode"
)

// linkedCrowd opens two cases (persons 0 and 1) and has persons 2..n-1
// check in, with a live code, at the venue where both cases were: each is
// linked to both cases by a verified shared presence. It returns the case
// ids, the diagnoses' evidence ids and the crowd's pseudonyms.
func linkedCrowd(t *testing.T, e *env) (cases [2]string, basis [2]int64, crowd []string) {
	t.Helper()
	now := e.clock.Now()
	v := e.liveVenue("410103")
	for i := 0; i < 2; i++ {
		cases[i] = e.openCaseOf(i, now)
		e.view(func(tx healthcode.ReadTx) error {
			c, err := tx.Case(e.ctx, cases[i])
			basis[i] = c.Diagnosis
			return err
		})
	}
	for i := range e.subj {
		// As people come through a door: no slot's code past its
		// capacity (healthcode.DefaultSlotCapacity).
		if i > 0 && i%50 == 0 {
			e.clock.Advance(healthcode.VenueSlot)
		}
		e.checkIn(i, v, true)
		if i >= 2 {
			crowd = append(crowd, e.subj[i])
		}
	}
	e.clock.Advance(time.Minute)
	return cases, basis, crowd
}

func redOverride(subjects []string, caseID string, basis int64, now time.Time) healthcode.Override {
	return healthcode.Override{Subjects: subjects, Colour: healthcode.Red, Reason: "epidemiologist_judgement", Basis: []int64{basis},
		CaseRef: caseID, Expires: now.Add(7 * healthcode.Day)}
}

// TestSplitListNeedsCoSign: 25 people in two requests — by one operator–
// approver pair, across two cases, across two approvers, across two
// operators with one approver, across two pairs citing one case: the
// request that takes a requester, an approver or a case past 20 people in
// 24 hours waits for an auditor's co-signature.
func TestSplitListNeedsCoSign(t *testing.T) {
	t.Parallel()
	// Who signs, by name: registered in each test's registry.
	type req struct {
		op, ap    string
		whichCase int
	}
	for _, tc := range []struct {
		name   string
		first  req
		second req
	}{
		{"one pair, one case", req{"op1", "ap1", 0}, req{"op1", "ap1", 0}},
		{"one pair, two cases", req{"op1", "ap1", 0}, req{"op1", "ap1", 1}},
		{"one operator, two approvers, two cases", req{"op1", "ap1", 0}, req{"op1", "ap2", 1}},
		{"two operators, one approver, two cases", req{"op1", "ap1", 0}, req{"op2", "ap1", 1}},
		{"two pairs, one case", req{"op1", "ap1", 0}, req{"op2", "ap2", 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{people: 27})
			who := map[string]*healthcode.Principal{
				"op1": e.registered("操作员 钱明", healthcode.RoleOperator, "市大数据局"),
				"op2": e.registered("操作员 冯涛", healthcode.RoleOperator, "区大数据局"),
				"ap1": e.registered("审批员 周洁", healthcode.RoleApprover, "市卫健委"),
				"ap2": e.registered("审批员 吴刚", healthcode.RoleApprover, "省卫健委"),
			}
			auditor := e.registered("监督员 郑红", healthcode.RoleAuditor, "纪检监察组")
			cases, basis, crowd := linkedCrowd(t, e)
			now := e.clock.Now()
			for k, r := range []req{tc.first, tc.second} {
				people := crowd[:20]
				if k == 1 {
					people = crowd[20:]
				}
				o, err := e.eng.RequestOverride(e.ctx, who[r.op], redOverride(people, cases[r.whichCase], basis[r.whichCase], now))
				if err != nil {
					t.Fatal(err)
				}
				if o, err = e.eng.ApproveOverride(e.ctx, who[r.ap], o.ID); err != nil {
					t.Fatal(err)
				}
				if k == 0 {
					if o.Status != healthcode.OverrideActive || o.NeedsCoSign() {
						t.Fatalf("first request of 20: %s, co-sign %v", o.Status, o.NeedsCoSign())
					}
					continue
				}
				if o.Status != healthcode.OverridePending || !o.NeedsCoSign() {
					t.Fatalf("second request (25 in all): %s, co-sign %v, want pending for an auditor", o.Status, o.NeedsCoSign())
				}
				for _, s := range people {
					if d := e.decision(s); d != nil && d.Reason == "override.epidemiologist_judgement" {
						t.Fatalf("%s holds the override before the auditor signed", s)
					}
				}
				if o, err = e.eng.CoSignOverride(e.ctx, auditor, o.ID); err != nil || o.Status != healthcode.OverrideActive {
					t.Fatalf("auditor's co-signature: %+v %v", o, err)
				}
				if d := e.decision(people[0]); d == nil || d.Colour != healthcode.Red {
					t.Fatalf("after the co-signature: %+v", d)
				}
			}
		})
	}
}

// TestBulkWindow: the limits count over a rolling window (a setting); a
// refused request stops counting.
func TestBulkWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 27})
	e.eng.Bulk = healthcode.BulkLimits{Window: 6 * time.Hour}
	operator := e.registered("操作员 钱明", healthcode.RoleOperator, "市大数据局")
	approver := e.registered("审批员 周洁", healthcode.RoleApprover, "市卫健委")
	cases, basis, crowd := linkedCrowd(t, e)
	ask := func(people []string) *healthcode.Override {
		t.Helper()
		o, err := e.eng.RequestOverride(e.ctx, operator, redOverride(people, cases[0], basis[0], e.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	refused := ask(crowd[5:]) // 20 people, five of them not in the next request
	if _, err := e.eng.RefuseOverride(e.ctx, approver, refused.ID, "not linked closely enough"); err != nil {
		t.Fatal(err)
	}
	first := ask(crowd[:20])
	if first.NeedsCoSign() {
		t.Fatal("a refused request still counts")
	}
	if _, err := e.eng.ApproveOverride(e.ctx, approver, first.ID); err != nil {
		t.Fatal(err)
	}
	if o := ask(crowd[20:]); !o.NeedsCoSign() {
		t.Fatal("inside the window: no co-signature asked")
	}
	e.clock.Advance(6*time.Hour + time.Minute)
	if o := ask(crowd[20:22]); o.NeedsCoSign() {
		t.Fatal("past the window: the first request still counts")
	}
}

// TestUnconfirmedContactsNeedCoSign: records resting on interviews count
// per case like overrides: the 21st person of one case in a day waits,
// after its confirmation, for an auditor.
func TestUnconfirmedContactsNeedCoSign(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 24})
	e.enrol(epi, epi2, epiSame, approverEpi, auditor)
	now := e.clock.Now()
	caseID := e.openCaseOf(0, now)
	var last healthcode.Outcome
	for i := 1; i <= 21; i++ {
		requester := epi
		if i > 10 {
			requester = epiSame // another official: the case's limit still counts both
		}
		last = e.one(requester, contact(healthcode.CloseContact, i, e.ids, "I-"+e.ids[i], caseID, now, interview))
		if last.Status != healthcode.Pending {
			t.Fatalf("interview %d: %s %v", i, last.Status, last.Err)
		}
		if i < 21 {
			if r, err := e.eng.ConfirmRecord(e.ctx, epi2, last.Pending); err != nil || r.Status != healthcode.RecordInForce {
				t.Fatalf("confirmation %d: %+v %v", i, r, err)
			}
		}
	}
	r, err := e.eng.ConfirmRecord(e.ctx, approverEpi, last.Pending)
	if err != nil || r.Status != healthcode.RecordPending || !r.CoSignNeeded || e.colour(21) != healthcode.Green {
		t.Fatalf("21st person of the case: %+v %v, colour %s", r, err, e.colour(21))
	}
	if _, err := e.eng.CoSignRecord(e.ctx, auditor, last.Pending); err != nil || e.colour(21) != healthcode.Red {
		t.Fatalf("co-signed: %v, colour %s", err, e.colour(21))
	}
}

// approverEpi is a third epidemiologist, of yet another unit.
var approverEpi = &healthcode.Principal{ID: "epi-004", Name: "流调员 陈立", Role: healthcode.RoleEpidemiologist, Unit: "省疾控中心"}
