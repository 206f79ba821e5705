package engine_test

import (
	"testing"
	"time"

	"healthcode"
)

// dx is a clinic's diagnosis of person i, by ID number.
func dx(i int, ids []string, ref, diagnosis string, at time.Time) healthcode.Submission {
	return healthcode.Submission{IDNumber: ids[i], Evidence: healthcode.Evidence{Kind: healthcode.Diagnosis, ExternalID: ref,
		ObservedAt: at, Diagnosis: diagnosis}}
}

// TestOneClinicCannotRedCode: one clinic alone, diagnosing people by ID
// number with no positive test of a sample another unit collected, changes
// nobody's colour and opens no case anyone may cite; the diagnosis is held,
// logged and shown to the person. A sample its own unit collected does not
// count, nor does one sampled too long before, nor a negative. Lawful: a
// diagnosis after a positive from a tube another unit collected takes
// effect at once; a held one takes effect once a clinician or an
// epidemiologist of another unit confirms it, and not on the word of the
// clinic itself or of another official of its unit. A discharge (yellow)
// of someone who was never a case is held as well.
func TestOneClinicCannotRedCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 12})
	clinicSame := &healthcode.Principal{ID: "clinic-002", Name: "郑大一附院 急诊科", Role: healthcode.RoleClinic, Unit: clinic.Unit}
	clinic2 := &healthcode.Principal{ID: "clinic-003", Name: "河南省人民医院", Role: healthcode.RoleClinic, Unit: "省人民医院"}
	epiOfClinic := &healthcode.Principal{ID: "epi-clinic", Name: "流调员 院感科", Role: healthcode.RoleEpidemiologist, Unit: clinic.Unit}
	e.enrol(clinic, clinicSame, clinic2, epi, epiOfClinic, lab)
	now := e.clock.Now()

	// The clinic's own sampling window collects person 4; a lab of another
	// unit reports the tube positive. Person 5 is tested positive 15 days
	// before the diagnosis; person 6 tests negative.
	ownSampler := &healthcode.Principal{ID: "sampler-clinic", Name: "发热门诊采样窗口", Role: healthcode.RoleSampler, Unit: clinic.Unit}
	if outs, err := e.eng.Collect(e.ctx, ownSampler, []healthcode.CollectionRequest{sample(e.ids[4], "OWN-4", now.Add(-time.Hour))}); err != nil || outs[0].Status != healthcode.Accepted {
		t.Fatalf("own unit's collection: %v %+v", err, outs)
	}
	e.submitOK(lab, tubeResult(0, "OWN-4", healthcode.Positive))
	e.collectOK(sample(e.ids[5], "OLD-5", now.Add(-15*healthcode.Day)))
	e.submitOK(lab, tubeResult(0, "OLD-5", healthcode.Positive))
	e.collectOK(sample(e.ids[6], "NEG-6", now.Add(-time.Hour)))
	e.submitOK(lab, tubeResult(0, "NEG-6", healthcode.Negative))
	// Person 9's sample is taken after the time the diagnosis claims.
	e.collectOK(sample(e.ids[9], "LATE-9", now.Add(-time.Hour)))
	e.submitOK(lab, tubeResult(0, "LATE-9", healthcode.Positive))
	// Red on their positive screening; person 5's is older than the
	// 7-day window of that rule (rules/baseline.yaml) and restricts no one.
	redBefore := map[int]bool{4: true, 9: true}

	size := e.logSize()
	attempts := []healthcode.Submission{
		dx(1, e.ids, "A-1", healthcode.DiagnosisConfirmed, now),
		dx(2, e.ids, "A-2", healthcode.DiagnosisAsymptomatic, now),
		dx(3, e.ids, "A-3", healthcode.DiagnosisSuspected, now),
		dx(4, e.ids, "A-4", healthcode.DiagnosisConfirmed, now),
		dx(5, e.ids, "A-5", healthcode.DiagnosisConfirmed, now),
		dx(6, e.ids, "A-6", healthcode.DiagnosisConfirmed, now),
		dx(9, e.ids, "A-9", healthcode.DiagnosisConfirmed, now.Add(-3*time.Hour)),
	}
	outs, err := e.eng.Submit(e.ctx, clinic, attempts)
	if err != nil {
		t.Fatal(err)
	}
	pending := map[int]int64{}
	for k, o := range outs {
		i := []int{1, 2, 3, 4, 5, 6, 9}[k]
		if o.Status != healthcode.Pending || o.Case != "" {
			t.Errorf("person %d diagnosed by one clinic alone: %s %v case %q, want pending with no case", i, o.Status, o.Err, o.Case)
		}
		pending[i] = o.Pending
	}
	for i := 1; i < len(e.subj); i++ {
		if c := e.colour(i); c == healthcode.Red && !redBefore[i] || c == healthcode.Yellow {
			t.Errorf("person %d is %s after one clinic acted alone", i, c)
		}
	}
	for i := range redBefore {
		if d := e.decision(e.subj[i]); d == nil || d.Reason != "nucleic_acid_positive" {
			t.Errorf("person %d = %+v, want only their positive screening", i, d)
		}
	}
	// Each attempt is logged, naming the clinic, and held.
	if ls := e.leaves(size); len(ls) != len(attempts) {
		t.Errorf("%d leaves for %d attempts", len(ls), len(attempts))
	} else {
		for _, l := range ls {
			if l.Entry.Type != healthcode.LogPendingRecord || l.Entry.ActorName != healthcode.ActorLabel(clinic) {
				t.Errorf("attempt leaf %+v", l.Entry)
			}
		}
	}
	// The person sees the diagnosis held about them.
	citizen := &healthcode.Principal{ID: e.subj[1], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[1]}
	mine, err := e.eng.PendingRecords(e.ctx, citizen, "")
	if err != nil || len(mine) != 1 || mine[0].ID != pending[1] || mine[0].Evidence.Diagnosis != healthcode.DiagnosisConfirmed {
		t.Errorf("person 1's held records: %+v %v", mine, err)
	}
	// Nothing may cite the case a held diagnosis would open.
	heldCase := mine[0].Evidence.CaseRef
	if heldCase == "" {
		t.Fatal("the held diagnosis names no case to be")
	}
	e.view(func(tx healthcode.ReadTx) error {
		if _, err := tx.Case(e.ctx, heldCase); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
			t.Errorf("held diagnosis's case %s: %v, want none", heldCase, err)
		}
		return nil
	})
	o := e.one(epi, contact(healthcode.CloseContact, 7, e.ids, "CC-7", heldCase, now, interview))
	if o.Status != healthcode.Rejected || healthcode.ErrorDetail(o.Err) != "evidence.unknown_case" {
		t.Errorf("contact citing a held diagnosis's case: %s %v", o.Status, o.Err)
	}

	// The clinic itself, another official of its unit, or an official who
	// may not confirm a diagnosis changes nothing.
	for _, c := range []struct {
		who    *healthcode.Principal
		detail string
	}{{clinic, "record.self_approval"}, {clinicSame, "record.same_unit"}, {epiOfClinic, "record.same_unit"},
		{lab, "auth.role"}, {approver, "auth.role"}} {
		_, err := e.eng.ConfirmRecord(e.ctx, c.who, pending[1])
		wantCode(t, "confirmation by "+c.who.Name, err, healthcode.EFORBIDDEN, c.detail)
	}
	if c := e.colour(1); c != healthcode.Green {
		t.Errorf("person 1 is %s after refused confirmations", c)
	}

	// Lawful: a positive from a tube another unit collected, then the
	// diagnosis: in force at once, its case opened.
	e.collectOK(sample(e.ids[8], "POS-8", now.Add(-2*time.Hour)))
	e.submitOK(lab, tubeResult(0, "POS-8", healthcode.Positive))
	o = e.one(clinic, dx(8, e.ids, "B-8", healthcode.DiagnosisConfirmed, now))
	if o.Status != healthcode.Accepted || o.Case == "" {
		t.Fatalf("diagnosis after another unit's positive: %s %v case %q", o.Status, o.Err, o.Case)
	}
	if d := e.decision(e.subj[8]); d == nil || d.Reason != "confirmed_case" {
		t.Errorf("person 8 = %+v, want a confirmed case", d)
	}

	// Lawful: a clinician of another unit confirms person 1's diagnosis; an
	// epidemiologist of another unit person 3's. They take effect then, and
	// person 1's case is opened and may be cited.
	r, err := e.eng.ConfirmRecord(e.ctx, clinic2, pending[1])
	if err != nil || r.Status != healthcode.RecordInForce {
		t.Fatalf("confirmed by a clinician of another unit: %+v %v", r, err)
	}
	if d := e.decision(e.subj[1]); d == nil || d.Reason != "confirmed_case" {
		t.Errorf("person 1 after confirmation = %+v, want a confirmed case", d)
	}
	e.view(func(tx healthcode.ReadTx) error {
		c, err := tx.Case(e.ctx, heldCase)
		if err != nil || c.Subject != e.subj[1] || c.Clinic.ID != clinic.ID {
			t.Errorf("case %s after confirmation: %+v %v", heldCase, c, err)
		}
		return nil
	})
	if o := e.one(epi, contact(healthcode.CloseContact, 7, e.ids, "CC-7b", heldCase, now, interview)); o.Status != healthcode.Pending {
		t.Errorf("contact citing the confirmed case: %s %v", o.Status, o.Err)
	}
	if r, err := e.eng.ConfirmRecord(e.ctx, epi, pending[3]); err != nil || r.Status != healthcode.RecordInForce || e.colour(3) != healthcode.Red {
		t.Errorf("suspected case confirmed by an epidemiologist of another unit: %+v %v, colour %s", r, err, e.colour(3))
	}
	// A discharge makes its person yellow for 7 days: one of someone who
	// was never a case is held too; one after a case in force takes effect.
	if o := e.one(clinic, dx(6, e.ids, "D-6", healthcode.DiagnosisDischarged, now)); o.Status != healthcode.Pending || e.colour(6) != healthcode.Green {
		t.Errorf("discharge of someone never a case: %s %v, colour %s", o.Status, o.Err, e.colour(6))
	}
	if o := e.one(clinic, dx(8, e.ids, "D-8", healthcode.DiagnosisDischarged, now.Add(time.Minute))); o.Status != healthcode.Accepted || e.colour(8) != healthcode.Yellow {
		t.Errorf("discharge of a case: %s %v, colour %s", o.Status, o.Err, e.colour(8))
	}
	// The rest stay as they were.
	for _, i := range []int{2, 6} {
		if c := e.colour(i); c != healthcode.Green {
			t.Errorf("person %d is %s", i, c)
		}
	}
	if c := e.colour(5); c != healthcode.Green {
		t.Errorf("person 5, whose only positive is 15 days old, is %s", c)
	}
	// A diagnosis resubmitted while held is the same held record.
	again, err := e.eng.Submit(e.ctx, clinic, []healthcode.Submission{attempts[1]})
	if err != nil || again[0].Status != healthcode.Duplicate || again[0].Pending != pending[2] {
		t.Errorf("resubmitted held diagnosis: %+v %v", again, err)
	}
}
