package engine_test

import (
	"strconv"
	"strings"
	"testing"

	"healthcode"
)

// TestUnmaskNeedsALinkedCaseAndASecondOfficial: an epidemiologist learns
// who someone is only for an existing case the person is linked to, only
// after an approver of another unit approves, and the person sees the
// request, the approval and the read with the officials named.
func TestUnmaskNeedsALinkedCaseAndASecondOfficial(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 6})
	e.enrol(epi, epi2, approver, auditor, &healthcode.Principal{ID: "approver-epi-unit", Name: "审批员 同单位", Role: healthcode.RoleApprover, Unit: epi.Unit})
	now := e.clock.Now()
	caseID := e.openCaseOf(0, now)
	otherCase := e.openCaseOf(5, now)
	v := e.liveVenue("410102")
	e.checkIn(0, v, true)
	e.checkIn(1, v, false) // was there with the case (a printed code is enough to be asked about)
	e.clock.Advance(e.clock.Now().Sub(now) + 1)

	size := e.logSize()
	for _, c := range []struct {
		name, subject, ref, detail string
	}{
		{"free text as the case", e.subj[1], "x", "unmask.case_not_linked"},
		{"the word none", e.subj[1], "none", "unmask.case_not_linked"},
		{"an unknown case", e.subj[1], "C-AAAAAAAAAA", "unmask.case_not_linked"},
		{"a real case the person has nothing to do with", e.subj[2], caseID, "unmask.case_not_linked"},
		{"another real case", e.subj[1], otherCase, "unmask.case_not_linked"},
	} {
		_, err := e.eng.RequestUnmask(e.ctx, epi, c.subject, "case_investigation", c.ref)
		if healthcode.ErrorCode(err) != healthcode.EINVALID {
			t.Errorf("%s: %v, want invalid", c.name, err)
		}
	}
	if _, err := e.eng.RequestUnmask(e.ctx, epi, e.subj[1], "appeal_review", caseID); healthcode.ErrorDetail(err) != "access.purpose" {
		t.Errorf("unmask for an appeal review: %v", err)
	}
	if e.logSize() != size {
		t.Fatal("refused unmask requests wrote to the log")
	}

	r, err := e.eng.RequestUnmask(e.ctx, epi, e.subj[1], "case_investigation", caseID)
	if err != nil || r.Status != healthcode.UnmaskPending {
		t.Fatalf("request: %+v %v", r, err)
	}
	if _, _, err := e.eng.Unmask(e.ctx, epi, r.ID); healthcode.ErrorDetail(err) != "unmask.pending" {
		t.Errorf("read before approval: %v", err)
	}
	sameUnit := &healthcode.Principal{ID: "approver-epi-unit", Name: "审批员 同单位", Role: healthcode.RoleApprover, Unit: epi.Unit}
	for _, c := range []struct {
		who    *healthcode.Principal
		detail string
	}{{sameUnit, "unmask.same_unit"}, {epi2, "auth.role"}, {auditor, "auth.role"}} {
		if _, err := e.eng.ApproveUnmask(e.ctx, c.who, r.ID); healthcode.ErrorDetail(err) != c.detail {
			t.Errorf("approval by %s: %v, want %s", c.who.Name, err, c.detail)
		}
	}
	if _, err := e.eng.ApproveUnmask(e.ctx, approver, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.eng.Unmask(e.ctx, epi2, r.ID); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
		t.Errorf("read by another epidemiologist: %v", err)
	}
	p, _, err := e.eng.Unmask(e.ctx, epi, r.ID)
	if err != nil || p.Personal == nil || p.Personal.IDNumber != e.ids[1] {
		t.Fatalf("read after approval: %+v %v", p, err)
	}
	// The person sees who asked, who approved and who read.
	citizen := &healthcode.Principal{ID: e.subj[1], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[1]}
	rs, err := e.eng.AccessRecords(e.ctx, citizen)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, a := range rs {
		if a.CaseRef != caseID {
			t.Errorf("access record cites %q", a.CaseRef)
		}
		seen = append(seen, a.Actor.Name+": "+a.What)
	}
	all := strings.Join(seen, "\n")
	for _, want := range []string{epi.Name + ": asked to see", approver.Name + ": approved unmask request", epi.Name + ": name, ID number and phone"} {
		if !strings.Contains(all, want) {
			t.Errorf("the person's access records lack %q:\n%s", want, all)
		}
	}
	// Refused: nothing is answered.
	r2, err := e.eng.RequestUnmask(e.ctx, epi, e.subj[1], "contact_tracing", caseID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.RefuseUnmask(e.ctx, approver, r2.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.eng.Unmask(e.ctx, epi, r2.ID); healthcode.ErrorDetail(err) != "unmask.refused" {
		t.Errorf("read of a refused request: %v", err)
	}
	// The approval lapses.
	e.clock.Advance(healthcode.UnmaskValidFor)
	if _, _, err := e.eng.Unmask(e.ctx, epi, r.ID); healthcode.ErrorDetail(err) != "unmask.expired" {
		t.Errorf("read after the approval lapsed: %v", err)
	}
}

// TestReadsAndTracesCiteLinkedCases: a purpose-bound read and a trace name
// an existing case the person or venue is linked to.
func TestReadsAndTracesCiteLinkedCases(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 6})
	now := e.clock.Now()
	caseID := e.openCaseOf(0, now)
	v, elsewhere := e.liveVenue("410102"), e.liveVenue("410103")
	e.checkIn(0, v, true)
	e.checkIn(1, v, true)
	e.clock.Advance(e.clock.Now().Sub(now) + 1)
	from, to := now.Add(-healthcode.Day), e.clock.Now()
	if _, err := e.eng.TraceVenue(e.ctx, epi, v.ID, from, to, "contact_tracing", caseID, healthcode.CheckInCursor{}, 0); err != nil {
		t.Errorf("trace of a venue the case was at: %v", err)
	}
	for _, c := range []struct{ name, venue, ref, detail string }{
		{"free text", v.ID, "C1", "trace.no_case"},
		{"an unknown case", v.ID, "C-AAAAAAAAAA", "trace.no_case"},
		{"a venue the case never was at", elsewhere.ID, caseID, "trace.case_not_linked"},
	} {
		if _, err := e.eng.TraceVenue(e.ctx, epi, c.venue, from, to, "contact_tracing", c.ref, healthcode.CheckInCursor{}, 0); healthcode.ErrorDetail(err) != c.detail {
			t.Errorf("trace citing %s: %v, want %s", c.name, err, c.detail)
		}
	}
	if _, err := e.eng.TraceCase(e.ctx, epi, "410100-C001", "contact_tracing", healthcode.CheckInCursor{}, 0); healthcode.ErrorDetail(err) != "trace.no_case" {
		t.Errorf("case trace of free text: %v", err)
	}
	if cs, err := e.eng.TraceCase(e.ctx, epi, caseID, "contact_tracing", healthcode.CheckInCursor{}, 0); err != nil || cs.Total != 1 {
		t.Errorf("case trace: %v %v", cs, err)
	}
	if _, err := e.eng.CodeFor(e.ctx, epi, e.subj[1], "contact_tracing", caseID); err != nil {
		t.Errorf("read of a person who shared the venue: %v", err)
	}
	for _, c := range []struct{ subject, purpose, ref string }{
		{e.subj[2], "contact_tracing", caseID},
		{e.subj[1], "contact_tracing", "C1"},
		{e.subj[1], "appeal_review", "appeal/1"},
		{e.subj[1], "contact_tracing", "override/1"},
	} {
		if _, err := e.eng.CodeFor(e.ctx, operator, c.subject, c.purpose, c.ref); healthcode.ErrorDetail(err) != "access.case" {
			t.Errorf("read citing %s for %s: %v", c.ref, c.purpose, err)
		}
	}
	citizen := &healthcode.Principal{ID: e.subj[2], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[2]}
	a, err := e.eng.FileAppeal(e.ctx, citizen, healthcode.AppealColour, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.CodeFor(e.ctx, operator, e.subj[2], "appeal_review", "appeal/"+itoa(a.ID)); err != nil {
		t.Errorf("read for the person's own appeal: %v", err)
	}
	if _, err := e.eng.CodeFor(e.ctx, operator, e.subj[1], "appeal_review", "appeal/"+itoa(a.ID)); healthcode.ErrorDetail(err) != "access.case" {
		t.Errorf("read citing someone else's appeal: %v", err)
	}
	// A designation rests on a case that was verified present there.
	d := healthcode.RiskDesignation{Venue: elsewhere.ID, Level: healthcode.RiskHigh, Reason: "case_visited", From: from, Until: e.clock.Now().Add(-1),
		Expires: e.clock.Now().Add(healthcode.Day)}
	e.view(func(tx healthcode.ReadTx) error {
		c, err := tx.Case(e.ctx, caseID)
		d.Cases = []int64{c.Diagnosis}
		return err
	})
	if _, err := e.eng.RequestDesignation(e.ctx, epi, d); healthcode.ErrorDetail(err) != "designation.case_not_linked" {
		t.Errorf("designation of a venue the case was never at: %v", err)
	}
	d.Venue = v.ID
	if _, err := e.eng.RequestDesignation(e.ctx, epi, d); err != nil {
		t.Errorf("designation of the venue the case was at: %v", err)
	}
	// An override cites an existing case its people are linked to.
	o := healthcode.Override{Subjects: []string{e.subj[2]}, Colour: healthcode.Red, Reason: "epidemiologist_judgement", Basis: d.Cases,
		CaseRef: caseID, Expires: e.clock.Now().Add(healthcode.Day)}
	if _, err := e.eng.RequestOverride(e.ctx, operator, o); healthcode.ErrorDetail(err) != "override.case_not_linked" {
		t.Errorf("override of someone not linked to the case: %v", err)
	}
	o.CaseRef = "none"
	if _, err := e.eng.RequestOverride(e.ctx, operator, o); healthcode.ErrorDetail(err) != "override.unknown_case" {
		t.Errorf("override citing free text: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
