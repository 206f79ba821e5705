package engine_test

import (
	"testing"

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
