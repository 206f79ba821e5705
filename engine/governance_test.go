package engine_test

import (
	"testing"

	"healthcode"
)

// TestListsAreTheCallersOwn: the engine itself decides whose appeals, reads
// and data a caller may list — not only the HTTP route table.
func TestListsAreTheCallersOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	citizen := &healthcode.Principal{ID: e.subj[0], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[0]}
	other := &healthcode.Principal{ID: e.subj[1], Name: "other", Role: healthcode.RoleCitizen, Subject: e.subj[1]}
	if _, err := e.eng.FileAppeal(e.ctx, other, healthcode.AppealCorrection, "name misspelt"); err != nil {
		t.Fatal(err)
	}
	operator := &healthcode.Principal{ID: "op", Name: "op", Role: healthcode.RoleOperator, Unit: "u"}
	auditor := &healthcode.Principal{ID: "au", Name: "au", Role: healthcode.RoleAuditor, Unit: "v"}
	for _, p := range []*healthcode.Principal{nil, lab, epi, clinic} {
		_, err := e.eng.Appeals(e.ctx, p, "")
		wantCode(t, "Appeals", err, healthcode.EFORBIDDEN, "auth.role")
	}
	for _, p := range []*healthcode.Principal{nil, lab, operator, epi} {
		_, err := e.eng.AccessRecords(e.ctx, p)
		wantCode(t, "AccessRecords", err, healthcode.EFORBIDDEN, "auth.role")
	}
	for _, p := range []*healthcode.Principal{nil, operator, auditor} {
		_, err := e.eng.Export(e.ctx, p, healthcode.DefaultRetention())
		wantCode(t, "Export", err, healthcode.EFORBIDDEN, "auth.role")
	}
	if as, err := e.eng.Appeals(e.ctx, citizen, ""); err != nil || len(as) != 0 {
		t.Errorf("a citizen sees another's appeal: %v, %v", as, err)
	}
	if as, err := e.eng.Appeals(e.ctx, operator, ""); err != nil || len(as) != 1 {
		t.Errorf("the operator's queue: %v, %v", as, err)
	}
	if x, err := e.eng.Export(e.ctx, citizen, healthcode.DefaultRetention()); err != nil || x.Code.Person.Pseudonym != citizen.Subject {
		t.Errorf("export: %v", err)
	}
}
