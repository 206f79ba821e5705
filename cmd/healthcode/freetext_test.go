package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/sim"
)

// TestSunsetLeavesNoFreeText: officials and citizens type a name, an ID
// number and a phone number into every free-text field there is — an
// override's note and case reference, the reason for refusing an override
// and a designation, the case of an unmask, of a code read and of a trace,
// an appeal's note and its answer, a lab's sample id — before the sunset.
// After it, not one of them is in the database file or its WAL; before it
// the same scan finds every one (so the scan can fail).
func TestSunsetLeavesNoFreeText(t *testing.T) {
	tn := startNode(t, 1000)
	ctx := context.Background()
	admin := tn.token(t, healthcode.Principal{ID: "admin-1", Name: "管理员 甲", Role: healthcode.RoleAdmin, Unit: "市卫健委"})
	lab := &healthcode.Principal{ID: "lab-1", Name: "第一检测所", Role: healthcode.RoleLab, Unit: "检验科"}
	epi := &healthcode.Principal{ID: "epi-1", Name: "流调员 乙", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"}
	operator := &healthcode.Principal{ID: "op-1", Name: "操作员 丙", Role: healthcode.RoleOperator, Unit: "市大数据局"}
	approver := &healthcode.Principal{ID: "ap-1", Name: "审批人 丁", Role: healthcode.RoleApprover, Unit: "市卫健委"}
	owner := &healthcode.Principal{ID: "owner-1", Name: "便利店店主", Role: healthcode.RoleVenue}

	// One invented person per field, so a failure names the field.
	var needle needles
	pii := map[string]string{}
	for i, field := range []string{"override note", "override case", "override refusal", "designation refusal", "unmask case",
		"code read case", "trace case", "appeal note", "appeal answer", "sample id", "sampling site"} {
		first17 := fmt.Sprintf("41010219850%d0%02d12", 1+i%9, 10+i)
		id := first17 + string(sim.IDCheckDigit(first17))
		name := []string{"欧阳铁柱", "司马青云", "诸葛晓明", "上官雨桐", "东方既白", "皇甫嵩林", "令狐冲霄", "慕容秋水", "独孤求真", "公孙止戈", "南宫望舒"}[i]
		phone := fmt.Sprintf("139%08d", 31415926+i*1117)
		pii[field] = fmt.Sprintf("%s %s %s", name, id, phone)
		needle.add(name, field+": name")
		needle.add(id, field+": ID number")
		needle.add(phone, field+": phone")
	}

	s0, id0, _ := tn.citizen(t, 0)
	s1, _, _ := tn.citizen(t, 1)
	// The sampling site types the tube id and its own name: free text.
	if cols, err := tn.engine.Collect(ctx, &testSampler, []healthcode.CollectionRequest{{IDNumber: id0, Tube: pii["sample id"],
		Site: pii["sampling site"], CollectedAt: tn.clock.Now().Add(-time.Hour)}}); err != nil || cols[0].Status != healthcode.Accepted {
		t.Fatalf("collect: %+v, %v", cols, err)
	}
	outs, err := tn.engine.Submit(ctx, lab, []healthcode.Submission{{Tube: pii["sample id"], Evidence: healthcode.Evidence{Kind: healthcode.NucleicAcidTest,
		Result: healthcode.Positive}}})
	if err != nil || outs[0].Status != healthcode.Accepted {
		t.Fatalf("submit: %+v, %v", outs, err)
	}
	positive := outs[0].EvidenceID

	// s0 and s1 were at the venue together; s0's case links s1 to it.
	v, err := tn.engine.RegisterVenue(ctx, owner, healthcode.Venue{Name: "二七广场便利店", Address: "二七区二七广场1号", Region: "410103", Category: "retail"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.engine.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{s0, s1} {
		if _, _, err := tn.engine.CheckIn(ctx, &healthcode.Principal{ID: s, Name: "citizen", Role: healthcode.RoleCitizen, Subject: s}, v.LiveCode(tn.clock.Now())); err != nil {
			t.Fatal(err)
		}
	}
	caseID := tn.openCase(t, id0, "DX-0")

	// A case reference is a record, never free text: typed into any of the
	// fields that cite a case, a name, ID number and phone are refused and
	// stored nowhere.
	caseFields := []string{"override case", "unmask case", "code read case", "trace case"}
	_, err = tn.engine.RequestOverride(ctx, operator, healthcode.Override{Subjects: []string{s1}, Colour: healthcode.Red,
		Reason: "epidemiologist_judgement", Basis: []int64{positive}, CaseRef: pii["override case"], Expires: tn.clock.Now().Add(7 * healthcode.Day)})
	wantInvalid := func(field string, err error) {
		t.Helper()
		if healthcode.ErrorCode(err) != healthcode.EINVALID {
			t.Errorf("free text as the %s: %v, want refused", field, err)
		}
	}
	wantInvalid("override case", err)
	_, err = tn.engine.RequestUnmask(ctx, epi, s0, "contact_tracing", pii["unmask case"])
	wantInvalid("unmask case", err)
	_, err = tn.engine.CodeFor(ctx, epi, s0, "case_investigation", pii["code read case"])
	wantInvalid("code read case", err)
	_, err = tn.engine.TraceVenue(ctx, epi, v.ID, tn.clock.Now().Add(-3*time.Hour), tn.clock.Now(), "contact_tracing", pii["trace case"],
		healthcode.CheckInCursor{}, 0)
	wantInvalid("trace case", err)

	o, err := tn.engine.RequestOverride(ctx, operator, healthcode.Override{Subjects: []string{s1}, Colour: healthcode.Red,
		Reason: "epidemiologist_judgement", Basis: []int64{positive}, CaseRef: caseID, Note: pii["override note"],
		Expires: tn.clock.Now().Add(7 * healthcode.Day)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.engine.RefuseOverride(ctx, approver, o.ID, pii["override refusal"]); err != nil {
		t.Fatal(err)
	}
	tn.clock.Advance(time.Hour)
	d, err := tn.engine.RequestDesignation(ctx, epi, healthcode.RiskDesignation{Venue: v.ID, Level: healthcode.RiskMedium, Reason: "case_visited",
		Cases: []int64{positive}, From: tn.clock.Now().Add(-2 * time.Hour), Until: tn.clock.Now(), Expires: tn.clock.Now().Add(healthcode.Day)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.engine.RefuseDesignation(ctx, approver, d.ID, pii["designation refusal"]); err != nil {
		t.Fatal(err)
	}

	if _, err := tn.unmask(ctx, epi, s0, caseID); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.engine.CodeFor(ctx, epi, s0, "case_investigation", caseID); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.engine.TraceVenue(ctx, epi, v.ID, tn.clock.Now().Add(-3*time.Hour), tn.clock.Now(), "contact_tracing", caseID,
		healthcode.CheckInCursor{}, 0); err != nil {
		t.Fatal(err)
	}

	a, err := tn.engine.FileAppeal(ctx, &healthcode.Principal{ID: s0, Name: "citizen", Role: healthcode.RoleCitizen, Subject: s0},
		healthcode.AppealColour, pii["appeal note"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.engine.AnswerAppeal(ctx, operator, a.ID, true, pii["appeal answer"]); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}

	// Before the sunset the scan finds every field's text (in its table,
	// or beside the tree), so it can prove their absence after.
	before := map[string]bool{}
	for _, found := range scanFiles(t, tn.cfg.DB, &needle) {
		for _, f := range found {
			before[strings.SplitN(f, ":", 2)[0]] = true
		}
	}
	for field := range pii {
		if slices.Contains(caseFields, field) {
			if before[field] {
				t.Errorf("the refused %s was stored", field)
			}
			continue
		}
		if !before[field] {
			t.Errorf("before the sunset the scan finds nothing of the %s: it cannot prove its absence", field)
		}
	}
	// And never in the public log: leaves hold commitments only.
	err = tn.db.View(ctx, func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		for i := range size {
			b, err := tx.LogLeaf(ctx, i)
			if err != nil {
				return err
			}
			if found := needle.find(b); len(found) > 0 {
				t.Errorf("log leaf %d holds %v in clear", i, found)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	tn.server.Close(ctx)
	tn.close()
	if code, out, errs := runLine(t, "sunset", "--data", tn.dir, "--token", admin, "--yes"); code != exitOK {
		t.Fatalf("sunset: %d\n%s%s", code, out, errs)
	}
	if found := scanFiles(t, tn.cfg.DB, &needle); len(found) > 0 {
		var all []string
		for file, f := range found {
			for _, w := range f {
				all = append(all, file+": "+w)
			}
		}
		slices.Sort(all)
		t.Errorf("after the sunset the database files still hold free text:\n%s", strings.Join(all, "\n"))
	}
	if code, out, errs := runCmd(t, "log", "verify", "--key", filepath.Join(tn.dir, "log-signing.pub"), tn.cfg.DB); code != exitOK {
		t.Fatalf("log verify after the sunset: %d\n%s%s", code, out, errs)
	}
}

// TestRetentionDeletesDesignationNotes: the words an approver typed to
// refuse a designation, and the cases an approved one cites, are kept beside
// the tree only as long as the designation is: the purge that deletes the
// designation deletes their openings, and the log still verifies.
func TestRetentionDeletesDesignationNotes(t *testing.T) {
	tn := startNode(t, 1000)
	ctx := context.Background()
	lab := &healthcode.Principal{ID: "lab-1", Name: "第一检测所", Role: healthcode.RoleLab, Unit: "检验科"}
	epi := &healthcode.Principal{ID: "epi-1", Name: "流调员 乙", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"}
	approver := &healthcode.Principal{ID: "ap-1", Name: "审批人 丁", Role: healthcode.RoleApprover, Unit: "市卫健委"}
	owner := &healthcode.Principal{ID: "owner-1", Name: "便利店店主", Role: healthcode.RoleVenue}
	operator := &healthcode.Principal{ID: "op-1", Name: "操作员 丙", Role: healthcode.RoleOperator, Unit: "市大数据局"}
	// The two officials of the designation are officials of the registry:
	// the second signature is checked against it.
	tn.token(t, *epi)
	tn.token(t, *approver)
	s0, id0, _ := tn.citizen(t, 0)
	if cols, err := tn.engine.Collect(ctx, &testSampler, []healthcode.CollectionRequest{{IDNumber: id0, Tube: "T-1",
		Site: testSampler.Name, CollectedAt: tn.clock.Now().Add(-time.Hour)}}); err != nil || cols[0].Status != healthcode.Accepted {
		t.Fatalf("collect: %+v, %v", cols, err)
	}
	outs, err := tn.engine.Submit(ctx, lab, []healthcode.Submission{{Tube: "T-1", Evidence: healthcode.Evidence{Kind: healthcode.NucleicAcidTest,
		Result: healthcode.Positive}}})
	if err != nil || outs[0].Status != healthcode.Accepted {
		t.Fatalf("submit: %+v, %v", outs, err)
	}
	v, err := tn.engine.RegisterVenue(ctx, owner, healthcode.Venue{Name: "便利店", Address: "二七区1号", Region: "410103", Category: "retail"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.engine.SetVenueStatus(ctx, operator, v.ID, healthcode.VenueActive); err != nil {
		t.Fatal(err)
	}
	// The positive test's person was there, verified: the designations
	// rest on a case linked to the venue.
	if _, _, err := tn.engine.CheckIn(ctx, &healthcode.Principal{ID: s0, Name: "citizen", Role: healthcode.RoleCitizen, Subject: s0}, v.LiveCode(tn.clock.Now())); err != nil {
		t.Fatal(err)
	}
	tn.clock.Advance(time.Hour)
	var notes []int64 // leaves with a note
	for i, refuse := range []bool{true, false} {
		before := tn.logSize(t)
		d, err := tn.engine.RequestDesignation(ctx, epi, healthcode.RiskDesignation{Venue: v.ID, Level: healthcode.RiskMedium, Reason: "case_visited",
			Cases: []int64{outs[0].EvidenceID}, From: tn.clock.Now().Add(-2 * time.Hour), Until: tn.clock.Now().Add(-time.Duration(i) * time.Minute),
			Expires: tn.clock.Now().Add(healthcode.Day)})
		if err != nil {
			t.Fatal(err)
		}
		if refuse {
			_, err = tn.engine.RefuseDesignation(ctx, approver, d.ID, "王小二 13900001111 is not a case")
		} else {
			_, err = tn.engine.ApproveDesignation(ctx, approver, d.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		notes = append(notes, tn.logSize(t)-1)
		if tn.logSize(t) < before+2 {
			t.Fatalf("designation %d logged %d leaves", d.ID, tn.logSize(t)-before)
		}
	}
	opens := func(i int64) bool {
		var err error
		if verr := tn.db.View(ctx, func(tx healthcode.ReadTx) error { _, _, err = tx.LogOpening(ctx, i); return nil }); verr != nil {
			t.Fatal(verr)
		}
		return err == nil
	}
	for _, i := range notes {
		if !opens(i) {
			t.Fatalf("leaf %d has no opening before the purge", i)
		}
	}
	// Kept while the designation is kept...
	if _, err := tn.engine.Purge(ctx, healthcode.DefaultRetention()); err != nil {
		t.Fatal(err)
	}
	for _, i := range notes {
		if !opens(i) {
			t.Errorf("leaf %d lost its opening while its designation is kept", i)
		}
	}
	// ...and deleted with it.
	tn.clock.Advance(healthcode.Day + healthcode.DefaultRetention().Designations + time.Hour)
	rep, err := tn.engine.Purge(ctx, healthcode.DefaultRetention())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts["designations"] != 2 {
		t.Fatalf("purge deleted %d designations, want 2", rep.Counts["designations"])
	}
	for _, i := range notes {
		if opens(i) {
			t.Errorf("leaf %d still opens after its designation was deleted", i)
		}
	}
	if _, err := tn.log.Publish(ctx, tn.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCmd(t, "log", "verify", "--key", filepath.Join(tn.dir, "log-signing.pub"), tn.cfg.DB); code != exitOK {
		t.Fatalf("log verify after the purge: %d\n%s%s", code, out, errs)
	}
}

func (tn *testNode) logSize(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := tn.db.View(context.Background(), func(tx healthcode.ReadTx) error {
		var err error
		n, err = tx.LogSize(context.Background())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
