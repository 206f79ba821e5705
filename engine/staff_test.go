package engine_test

import (
	"testing"

	"healthcode"
)

// TestCodeForIDNumber: an official finds a person by ID number for a
// purpose and a case, recorded and logged like a look-up by pseudonym;
// nobody else learns whether a number is registered, and a malformed or
// unknown number records nothing.
func TestCodeForIDNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 3})
	e.enrol(operator, epi)
	now := e.clock.Now()
	caseID := e.openCaseOf(0, now)
	e.clock.Advance(1)
	size := e.logSize()
	for _, c := range []struct {
		name         string
		who          *healthcode.Principal
		id, purpose  string
		code, detail string
	}{
		{"a lab", lab, e.ids[0], "case_investigation", healthcode.EFORBIDDEN, "auth.role"},
		{"an admin", admin, e.ids[0], "case_investigation", healthcode.EFORBIDDEN, "auth.role"},
		{"a lab, with a made-up number", lab, "110101199003070011", "case_investigation", healthcode.EFORBIDDEN, "auth.role"},
		{"no purpose", operator, e.ids[0], "curiosity", healthcode.EINVALID, "access.purpose"},
		{"not an ID number", operator, "12345", "case_investigation", healthcode.EINVALID, "person.id_number"},
		{"letters inside", operator, "1101011990X3070011", "case_investigation", healthcode.EINVALID, "person.id_number"},
		{"nobody's number", operator, "110101199003070011", "case_investigation", healthcode.ENOTFOUND, "person.unknown"},
	} {
		_, err := e.eng.CodeForIDNumber(e.ctx, c.who, c.id, c.purpose, caseID)
		wantCode(t, c.name, err, c.code, c.detail)
	}
	if e.logSize() != size {
		t.Fatal("refused look-ups wrote to the log")
	}
	v, err := e.eng.CodeForIDNumber(e.ctx, operator, " "+e.ids[0]+" ", "case_investigation", caseID)
	if err != nil || v.Person.Pseudonym != e.subj[0] {
		t.Fatalf("look-up by ID number: %+v %v", v, err)
	}
	if e.logSize() != size+1 {
		t.Errorf("the look-up is not one log entry: %d → %d", size, e.logSize())
	}
	rs, err := e.eng.AccessRecords(e.ctx, auditor)
	if err != nil || len(rs) == 0 || rs[0].Subject != e.subj[0] || rs[0].Actor.ID != operator.ID || rs[0].CaseRef != caseID {
		t.Errorf("the read as recorded: %+v %v", rs, err)
	}
}

// TestStaffLists: each list goes to the roles that work through it, and an
// epidemiologist sees only their own unmask requests.
func TestStaffLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 4})
	e.enrol(epi, epi2, approver, auditor, operator)
	now := e.clock.Now()
	caseID := e.openCaseOf(0, now)
	v := e.liveVenue("410102")
	e.checkIn(0, v, true)
	e.checkIn(1, v, true)
	e.clock.Advance(1)
	mine, err := e.eng.RequestUnmask(e.ctx, epi, e.subj[1], "contact_tracing", caseID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.RequestUnmask(e.ctx, epi2, e.subj[1], "contact_tracing", caseID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  *healthcode.Principal
		want int
	}{{epi, 1}, {epi2, 1}, {approver, 2}, {auditor, 2}} {
		rs, err := e.eng.UnmaskRequests(e.ctx, c.who, "")
		if err != nil || len(rs) != c.want {
			t.Errorf("%s lists %d unmask requests (%v), want %d", c.who.Name, len(rs), err, c.want)
		}
		if c.who == epi && len(rs) == 1 && rs[0].ID != mine.ID {
			t.Errorf("an epidemiologist sees another's request: %+v", rs)
		}
	}
	for _, who := range []*healthcode.Principal{operator, lab, clinic, admin} {
		_, err := e.eng.UnmaskRequests(e.ctx, who, "")
		wantCode(t, "unmask requests to "+who.Name, err, healthcode.EFORBIDDEN, "auth.role")
	}

	pending, err := e.eng.RegisterVenue(e.ctx, venueOwner, healthcode.Venue{Name: "新店", Address: "中原路2号", Region: "410102", Category: "retail"})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := e.eng.VenuesForReview(e.ctx, operator)
	if err != nil || len(vs) != 2 || vs[0].ID != pending.ID || vs[0].SealedSecret != nil || vs[1].Secret != nil {
		t.Errorf("venues for review: %+v %v", vs, err)
	}
	for _, who := range []*healthcode.Principal{epi, approver, auditor, venueOwner} {
		_, err := e.eng.VenuesForReview(e.ctx, who)
		wantCode(t, "venues to "+who.Name, err, healthcode.EFORBIDDEN, "auth.role")
	}

	if _, err := e.eng.ProposeRuleSet(e.ctx, admin, republished(t, "v-staff")); err != nil {
		t.Fatal(err)
	}
	for _, who := range []*healthcode.Principal{admin, auditor} {
		ps, err := e.eng.RuleSetProposals(e.ctx, who)
		if err != nil || len(ps) != 1 || ps[0].Record.Version != "v-staff" || ps[0].ProposedBy.ID != admin.ID {
			t.Errorf("proposals to %s: %+v %v", who.Name, ps, err)
		}
	}
	_, err = e.eng.RuleSetProposals(e.ctx, operator)
	wantCode(t, "proposals to an operator", err, healthcode.EFORBIDDEN, "auth.role")

	for _, who := range []*healthcode.Principal{epi, auditor, lab} {
		_, err := e.eng.HeldDiagnoses(e.ctx, who)
		wantCode(t, "held diagnoses to "+who.Name, err, healthcode.EFORBIDDEN, "auth.role")
	}
	// A diagnosis resting on no test of another unit is held; so is a
	// contact resting on an interview: the clinic sees the first only.
	if o := e.one(clinic, healthcode.Submission{IDNumber: e.ids[3], Evidence: healthcode.Evidence{Kind: healthcode.Diagnosis,
		ExternalID: "DX-HELD", ObservedAt: e.clock.Now(), Diagnosis: healthcode.DiagnosisConfirmed}}); o.Status != healthcode.Pending {
		t.Fatalf("an uncorroborated diagnosis: %+v", o)
	}
	if o := e.one(epi, contact(healthcode.CloseContact, 2, e.ids, "I-HELD", caseID, e.clock.Now(), interview)); o.Status != healthcode.Pending {
		t.Fatalf("an interview contact: %+v", o)
	}
	if ds, err := e.eng.HeldDiagnoses(e.ctx, clinic); err != nil || len(ds) != 1 || ds[0].Evidence.Kind != healthcode.Diagnosis {
		t.Errorf("held diagnoses: %+v %v", ds, err)
	}
}
