package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"healthcode"
	hchttp "healthcode/http"
	"healthcode/tlog"
)

// TestZhengzhouDepositorsCannotBeRedCoded replays the 2022 abuse against
// this platform: officials try to red-code a list of bank depositors who
// are not sick. Every path is refused, or stays a visible, named, pending
// attempt that the depositor sees; lawful work in the same city goes on.
func TestZhengzhouDepositorsCannotBeRedCoded(t *testing.T) {
	tn := startNode(t, 1000)
	// The officials of one bureau, acting together.
	operator := tn.token(t, healthcode.Principal{ID: "op-zz", Name: "操作员 甲", Role: healthcode.RoleOperator, Unit: "某局"})
	approverSameBureau := tn.token(t, healthcode.Principal{ID: "ap-zz", Name: "审批人 乙", Role: healthcode.RoleApprover, Unit: "某局"})
	epi := tn.token(t, healthcode.Principal{ID: "epi-zz", Name: "流调员 丙", Role: healthcode.RoleEpidemiologist, Unit: "某局"})
	owner := tn.token(t, healthcode.Principal{ID: "bank-owner", Name: "村镇银行", Role: healthcode.RoleVenue})
	venueOperator := tn.token(t, healthcode.Principal{ID: "op-2", Name: "操作员 丁", Role: healthcode.RoleOperator, Unit: "市大数据局"})
	clinic := tn.token(t, healthcode.Principal{ID: "clinic-1", Name: "郑大一附院", Role: healthcode.RoleClinic})
	lab := tn.token(t, healthcode.Principal{ID: "lab-1", Name: "检测所", Role: healthcode.RoleLab, Unit: "检验科"})

	var depositors []string // pseudonyms
	var tokens []string
	for i := 0; i < 25; i++ {
		s, _, tok := tn.citizen(t, 200+i)
		depositors, tokens = append(depositors, s), append(tokens, tok)
	}
	allGreen := func(when string) {
		t.Helper()
		for i, tok := range tokens {
			if c := tn.myCode(t, tok); c.Decision.Colour != "green" {
				t.Fatalf("%s: depositor %d is %s (%s)", when, i, c.Decision.Colour, c.Decision.Reason)
			}
		}
	}
	var p hchttp.Problem

	// 1. Directly: a manual red code with a free-text reason, or no case.
	for _, o := range []hchttp.OverrideJSON{
		{Subjects: depositors, Colour: "red", Reason: "maintaining stability", Expires: t0.Add(7 * 24 * time.Hour)},
		{Subjects: depositors, Colour: "red", Reason: "epidemiologist_judgement", Case: "none", Expires: t0.Add(7 * 24 * time.Hour)},
	} {
		if st := tn.post(t, "/api/v1/overrides", operator, o, &p); st != 400 {
			t.Fatalf("override %q: %d %+v, want 400", o.Reason, st, p)
		}
	}
	// A real case from elsewhere in the city as a pretext: the depositors
	// are not linked to it (not the case, no record citing it, never
	// verified-present with it), so the override is refused outright, in
	// one request or split into two.
	patientSubj, patient, _ := tn.citizen(t, 10)
	dx := tn.submit(t, clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: patient, ExternalID: "DX-ZZ", ObservedAt: t0.Add(-time.Hour),
		Diagnosis: "confirmed"})
	caseID := dx.Case
	for _, list := range [][]string{depositors, depositors[:20], depositors[20:]} {
		if st := tn.post(t, "/api/v1/overrides", operator, hchttp.OverrideJSON{Subjects: list, Colour: "red", Reason: "epidemiologist_judgement",
			Basis: []int64{dx.EvidenceID}, Case: caseID, Expires: t0.Add(7 * 24 * time.Hour)}, &p); st != 400 || p.Reason != "override.case_not_linked" {
			t.Fatalf("pretext override of %d people: %d %+v", len(list), st, p)
		}
	}
	allGreen("after the override attempts")

	// 2. Through contacts of an invented case, or a risk designation with
	// no case.
	for i := range depositors[:3] {
		_, id, _ := tn.citizen(t, 200+i)
		for _, ref := range []string{"depositors-2022", "none", "C-AAAAAAAAAA"} {
			if st := tn.post(t, "/api/v1/evidence", epi, hchttp.EvidenceJSON{Kind: "close_contact", IDNumber: id, ExternalID: fmt.Sprintf("ZZ-CC-%d", i),
				ObservedAt: t0.Add(-time.Hour), CaseRef: ref, Link: &hchttp.LinkJSON{Kind: "interview"}}, &p); st != 400 || p.Reason != "evidence.unknown_case" {
				t.Fatalf("contact of an invented case %q: %d %+v", ref, st, p)
			}
		}
	}
	// Contacts of the real case: with no link, or one the node's data
	// contradicts, refused; from an interview, held — and the bureau
	// cannot confirm its own interviews.
	_, id0, _ := tn.citizen(t, 200)
	for _, tc := range []struct {
		link   *hchttp.LinkJSON
		at     time.Time
		reason string
	}{
		{nil, t0.Add(-2 * time.Hour), "link.none"},
		{&hchttp.LinkJSON{Kind: "interview"}, t0.Add(-10 * 24 * time.Hour), "link.outside_window"},
		{&hchttp.LinkJSON{Kind: "shared_venue", Venue: "vnowhere"}, t0.Add(-2 * time.Hour), "link.not_found"},
	} {
		if st := tn.post(t, "/api/v1/evidence", epi, hchttp.EvidenceJSON{Kind: "close_contact", IDNumber: id0, ExternalID: "ZZ-CC-L",
			ObservedAt: tc.at, CaseRef: caseID, Link: tc.link}, &p); st != 400 || p.Reason != tc.reason {
			t.Fatalf("contact with link %+v: %d %+v, want %s", tc.link, st, p, tc.reason)
		}
	}
	epiSameBureau := tn.token(t, healthcode.Principal{ID: "epi-zz2", Name: "流调员 庚", Role: healthcode.RoleEpidemiologist, Unit: "某局"})
	held := map[int]int64{}
	for i := range depositors {
		_, id, _ := tn.citizen(t, 200+i)
		var o hchttp.OutcomeJSON
		if st := tn.post(t, "/api/v1/evidence", epi, hchttp.EvidenceJSON{Kind: "close_contact", IDNumber: id, ExternalID: fmt.Sprintf("ZZ-INT-%d", i),
			ObservedAt: t0.Add(-2 * time.Hour), CaseRef: caseID, Link: &hchttp.LinkJSON{Kind: "interview"}}, &o); st != 202 || o.PendingRecord == 0 {
			t.Fatalf("interview contact %d: %d %+v", i, st, o)
		}
		held[i] = o.PendingRecord
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/records/%d/confirm", held[0]), epiSameBureau, nil, &p); st != 403 || p.Reason != "record.same_unit" {
		t.Fatalf("confirmation within the bureau: %d %+v", st, p)
	}
	// The held contacts are one epidemiologist's word: they do not link the
	// depositors to the case for an override (issue 9).
	if st := tn.post(t, "/api/v1/overrides", operator, hchttp.OverrideJSON{Subjects: depositors[:3], Colour: "red", Reason: "epidemiologist_judgement",
		Basis: []int64{dx.EvidenceID}, Case: caseID, Expires: t0.Add(7 * 24 * time.Hour)}, &p); st != 400 || p.Reason != "override.case_not_linked" {
		t.Fatalf("override resting on unconfirmed contacts: %d %+v", st, p)
	}
	var mine struct {
		Records []hchttp.RecordJSON `json:"records"`
	}
	if st := tn.do(t, "GET", "/api/v1/me/records", tokens[0], nil, &mine); st != 200 || len(mine.Records) != 1 || !strings.Contains(mine.Records[0].Requester, "流调员 丙") {
		t.Fatalf("the depositor does not see the held contact naming its requester: %d %+v", st, mine)
	}
	// "Red-coded on arrival": travel from a high-risk area and the
	// isolation that would follow.
	for i, tc := range []struct {
		e      hchttp.EvidenceJSON
		status int
		reason string
	}{
		{hchttp.EvidenceJSON{Kind: "travel", RiskLevel: "high", Area: "310115", Link: &hchttp.LinkJSON{Kind: "checkin"}}, 400, "link.not_found"},
		{hchttp.EvidenceJSON{Kind: "travel", RiskLevel: "high", Area: "310115"}, 400, "link.none"},
		{hchttp.EvidenceJSON{Kind: "quarantine_start", Link: &hchttp.LinkJSON{Kind: "record"}}, 400, "link.not_found"},
		{hchttp.EvidenceJSON{Kind: "travel", RiskLevel: "high", Area: "310115", Link: &hchttp.LinkJSON{Kind: "interview"}}, 202, ""},
	} {
		e := tc.e
		_, e.IDNumber, _ = tn.citizen(t, 201)
		e.ExternalID, e.ObservedAt = fmt.Sprintf("ZZ-TR-%d", i), t0.Add(-time.Hour)
		p = hchttp.Problem{}
		var out any = &p
		if tc.status == 202 {
			out = &hchttp.OutcomeJSON{}
		}
		if st := tn.post(t, "/api/v1/evidence", epi, e, out); st != tc.status || p.Reason != tc.reason {
			t.Fatalf("%s with link %+v: %d %+v", e.Kind, e.Link, st, p)
		}
	}
	allGreen("after one epidemiologist's contacts, travel and quarantine records")
	// Unmasking a depositor, or tracing where they were, citing the case.
	lookedUp, _, _ := tn.citizen(t, 230) // a depositor's neighbour, never near the case
	for _, tc := range []struct {
		subject, ref, reason string
	}{
		{lookedUp, "none", "unmask.case_not_linked"},
		{lookedUp, caseID, "unmask.case_not_linked"},
	} {
		if st := tn.post(t, "/api/v1/trace/unmask", epi, map[string]string{"subject": tc.subject, "purpose": "contact_tracing", "case": tc.ref}, &p); st != 400 || p.Reason != tc.reason {
			t.Fatalf("unmask citing %q: %d %+v", tc.ref, st, p)
		}
	}
	_ = patientSubj
	var v hchttp.VenueJSON
	tn.post(t, "/api/v1/venues", owner, hchttp.VenueJSON{Name: "郑州市区某银行网点", Address: "金水路", Region: "410105", Category: "office"}, &v)
	tn.post(t, "/api/v1/venues/"+v.ID+"/status", venueOperator, map[string]string{"status": "active"}, nil)
	if st := tn.post(t, "/api/v1/designations", epi, hchttp.DesignationJSON{Venue: v.ID, Level: "high", Reason: "case_visited",
		From: t0.Add(-2 * time.Hour), Until: t0, Expires: t0.Add(24 * time.Hour)}, &p); st != 400 || p.Reason != "designation.no_case" {
		t.Fatalf("designation with no case: %d %+v", st, p)
	}

	// 3. Through a photo of the venue code sent to depositors who were
	// never there: their scans are unverified, and even a designation of
	// that venue resting on a real case leaves them green.
	var codes hchttp.VenueCodeJSON
	tn.do(t, "GET", "/api/v1/venues/"+v.ID+"/code", owner, nil, &codes)
	tn.clock.Advance(10 * time.Minute)
	for i, tok := range tokens {
		var ci hchttp.CheckInJSON
		if st := tn.post(t, "/api/v1/checkins", tok, map[string]string{"code": codes.Live}, &ci); st != 201 || ci.Verified {
			t.Fatalf("depositor %d scanning a forwarded photo: %d verified=%v", i, st, ci.Verified)
		}
	}
	// A designation of that venue resting on the real case is refused:
	// the case was never verified there. Nor can the venue be traced for it.
	venueDesignation := hchttp.DesignationJSON{Venue: v.ID, Level: "high", Reason: "case_visited",
		Cases: []int64{dx.EvidenceID}, From: t0.Add(-time.Hour), Until: tn.clock.Now(), Expires: t0.Add(24 * time.Hour)}
	if st := tn.post(t, "/api/v1/designations", epi, venueDesignation, &p); st != 400 || p.Reason != "designation.case_not_linked" {
		t.Fatalf("designation resting on a case never there: %d %+v", st, p)
	}
	q := fmt.Sprintf("/api/v1/trace/venue?venue=%s&from=%s&to=%s&purpose=contact_tracing&case=%s", v.ID,
		t0.Add(-time.Hour).Format(time.RFC3339), tn.clock.Now().Format(time.RFC3339), caseID)
	if st := tn.do(t, "GET", q, epi, nil, &p); st != 400 || p.Reason != "trace.case_not_linked" {
		t.Fatalf("trace of the bank citing a case never there: %d %+v", st, p)
	}
	// Even when a real case did scan the live code there, the depositors'
	// forwarded scans prove nothing.
	_, _, patientTok := tn.citizen(t, 10)
	var live hchttp.VenueCodeJSON
	tn.do(t, "GET", "/api/v1/venues/"+v.ID+"/code", owner, nil, &live)
	if st := tn.post(t, "/api/v1/checkins", patientTok, map[string]string{"code": live.Live}, &p); st != 201 {
		t.Fatalf("the patient's scan: %d %+v", st, p)
	}
	venueDesignation.Until = tn.clock.Now()
	var d hchttp.DesignationJSON
	if st := tn.post(t, "/api/v1/designations", epi, venueDesignation, &d); st != 201 {
		t.Fatalf("designation: %d", st)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/designations/%d/approve", d.ID), approverSameBureau, nil, &p); st != 403 || p.Reason != "designation.same_unit" {
		t.Fatalf("designation approved within the bureau: %d %+v", st, p)
	}
	otherUnit := tn.token(t, healthcode.Principal{ID: "ap-2", Name: "审批人 戊", Role: healthcode.RoleApprover, Unit: "市卫健委"})
	if st := tn.post(t, fmt.Sprintf("/api/v1/designations/%d/approve", d.ID), otherUnit, nil, &d); st != 200 {
		t.Fatalf("designation approved by another unit: %d", st)
	}
	allGreen("after a designation of the venue in the forwarded photo")

	// 4. One lab account alone posts positive results for the list. It can
	// name no one: results by ID number are refused alike for the
	// registered and the unregistered; invented tubes are unknown; tubes
	// the lab's own unit "collected" are refused; a tube with its result
	// in takes no other; and a lab cannot record collections.
	var items []hchttp.EvidenceJSON
	for i := range depositors {
		_, id, _ := tn.citizen(t, 200+i)
		items = append(items, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: id, ExternalID: fmt.Sprintf("ZZ-LAB-%d", i),
			ObservedAt: tn.clock.Now().Add(-time.Hour), Result: "positive"})
	}
	items = append(items, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: "110105194912310021", ExternalID: "ZZ-LAB-X",
		ObservedAt: tn.clock.Now().Add(-time.Hour), Result: "positive"}) // registered to no one
	var batchOut struct {
		Summary map[string]int       `json:"summary"`
		Items   []hchttp.OutcomeJSON `json:"items"`
	}
	if st := tn.post(t, "/api/v1/evidence", lab, map[string]any{"items": items}, &batchOut); st != 200 || batchOut.Summary["rejected"] != len(items) {
		t.Fatalf("a lab's positives for the depositors' ID numbers: %d %+v", st, batchOut.Summary)
	}
	for i, o := range batchOut.Items {
		if o.Error == nil || o.Error.Reason != "evidence.by_tube" || o.Error.Detail != batchOut.Items[0].Error.Detail {
			t.Fatalf("item %d: %+v, want the same evidence.by_tube answer for everyone", i, o.Error)
		}
	}
	if st := tn.post(t, "/api/v1/evidence", lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: "ZZ-DEPOSITORS-1", Result: "positive"}, &p); st != 404 ||
		p.Reason != "tube.unknown" {
		t.Fatalf("a positive for an invented tube: %d %+v", st, p)
	}
	if st := tn.post(t, "/api/v1/collections", lab, hchttp.CollectionJSON{IDNumber: "110105194912310021", Tube: "ZZ-LAB-C", Site: "检测所",
		CollectedAt: tn.clock.Now().Add(-time.Hour)}, &p); st != 403 {
		t.Fatalf("a lab recording a collection: %d %+v", st, p)
	}
	ownSampler := tn.token(t, healthcode.Principal{ID: "smp-lab", Name: "检测所采样窗口", Role: healthcode.RoleSampler, Unit: "检验科"})
	for i := range depositors[:3] {
		_, id, _ := tn.citizen(t, 200+i)
		tube := fmt.Sprintf("ZZ-OWN-%d", i)
		var co hchttp.CollectionOutcomeJSON
		if st := tn.post(t, "/api/v1/collections", ownSampler, hchttp.CollectionJSON{IDNumber: id, Tube: tube, Site: "检测所",
			CollectedAt: tn.clock.Now().Add(-time.Hour)}, &co); st != 201 {
			t.Fatalf("the lab's own unit collecting: %d %+v", st, co)
		}
		if st := tn.post(t, "/api/v1/evidence", lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: tube, Result: "positive"}, &p); st != 403 ||
			p.Reason != "tube.same_unit" {
			t.Fatalf("a positive for a tube its own unit collected: %d %+v", st, p)
		}
	}
	_, dep3, _ := tn.citizen(t, 203)
	tn.collect(t, dep3, "ZZ-DONE-3", tn.clock.Now().Add(-time.Hour))
	otherLab := tn.token(t, healthcode.Principal{ID: "lab-2", Name: "第二检测所", Role: healthcode.RoleLab, Unit: "第二检测所检验科"})
	tn.submit(t, otherLab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: "ZZ-DONE-3", Result: "negative"})
	if st := tn.post(t, "/api/v1/evidence", lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: "ZZ-DONE-3", Result: "positive"}, &p); st != 409 ||
		p.Reason != "tube.resulted" {
		t.Fatalf("a positive for a tube already resulted: %d %+v", st, p)
	}
	allGreen("after one lab's positives")

	// 5. One clinic account alone diagnoses depositors by ID number:
	// confirmed, asymptomatic, suspected. No positive of a sample another
	// unit collected lies under any of them, so each is held — no colour,
	// no case anyone may cite — named to the depositor, and no clinician
	// of the clinic's own unit can confirm it.
	diagnosed := depositors[10:15]
	var dxItems []hchttp.EvidenceJSON
	for i := range diagnosed {
		_, id, _ := tn.citizen(t, 210+i)
		dxItems = append(dxItems, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: id, ExternalID: fmt.Sprintf("ZZ-DX-%d", i),
			ObservedAt: tn.clock.Now().Add(-time.Hour), Diagnosis: []string{"confirmed", "asymptomatic", "suspected"}[i%3]})
	}
	if st := tn.post(t, "/api/v1/evidence", clinic, map[string]any{"items": dxItems}, &batchOut); st != 200 || batchOut.Summary["pending"] != len(dxItems) {
		t.Fatalf("one clinic's diagnoses of depositors: %d %+v", st, batchOut)
	}
	for i, o := range batchOut.Items {
		if o.Status != "pending" || o.Case != "" || o.PendingRecord == 0 {
			t.Fatalf("diagnosis %d: %+v, want held with no case", i, o)
		}
	}
	clinicSameUnit := tn.token(t, healthcode.Principal{ID: "clinic-1b", Name: "郑大一附院 急诊科", Role: healthcode.RoleClinic, Unit: "unit of clinic-1郑大一附院"})
	if st := tn.post(t, fmt.Sprintf("/api/v1/records/%d/confirm", batchOut.Items[0].PendingRecord), clinicSameUnit, nil, &p); st != 403 || p.Reason != "record.same_unit" {
		t.Fatalf("a diagnosis confirmed within the clinic: %d %+v", st, p)
	}
	if st := tn.post(t, fmt.Sprintf("/api/v1/records/%d/confirm", batchOut.Items[0].PendingRecord), clinic, nil, &p); st != 403 || p.Reason != "record.self_approval" {
		t.Fatalf("a diagnosis confirmed by its own clinic: %d %+v", st, p)
	}
	if st := tn.do(t, "GET", "/api/v1/me/records", tokens[10], nil, &mine); st != 200 || len(mine.Records) != 2 ||
		!strings.Contains(mine.Records[0].Requester+mine.Records[1].Requester, "郑大一附院") {
		t.Fatalf("the depositor does not see the held diagnosis naming the clinic: %d %+v", st, mine)
	}
	// A positive of a sample the clinic's own unit collected is no basis.
	_, walkIn, walkInTok := tn.citizen(t, 600)
	clinicSampler := tn.token(t, healthcode.Principal{ID: "smp-clinic", Name: "发热门诊采样窗口", Role: healthcode.RoleSampler, Unit: "unit of clinic-1郑大一附院"})
	if st := tn.post(t, "/api/v1/collections", clinicSampler, hchttp.CollectionJSON{IDNumber: walkIn, Tube: "ZZ-CLINIC-1", Site: "发热门诊",
		CollectedAt: tn.clock.Now().Add(-2 * time.Hour)}, &hchttp.CollectionOutcomeJSON{}); st != 201 {
		t.Fatalf("the clinic's own collection: %d", st)
	}
	tn.submit(t, lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", Tube: "ZZ-CLINIC-1", Result: "positive"})
	var held1 hchttp.OutcomeJSON
	if st := tn.post(t, "/api/v1/evidence", clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: walkIn, ExternalID: "ZZ-DX-OWN",
		ObservedAt: tn.clock.Now().Add(-time.Hour), Diagnosis: "confirmed"}, &held1); st != 202 || held1.Status != "pending" {
		t.Fatalf("a diagnosis resting on the clinic's own tube: %d %+v", st, held1)
	}
	if c := tn.myCode(t, walkInTok); c.Decision.Reason != "nucleic_acid_positive" {
		t.Fatalf("the walk-in: %+v, want only their positive screening", c.Decision)
	}
	allGreen("after one clinic's diagnoses")

	// Lawful work goes on: a positive test still turns its person red, in
	// the same request, once a sampling site of another unit collected the
	// sample (tn.submit has testSampler collect it).
	_, sick, sickTok := tn.citizen(t, 500)
	tn.submit(t, lab, hchttp.EvidenceJSON{Kind: "nucleic_acid_test", IDNumber: sick, ExternalID: "ZZ-T1", ObservedAt: tn.clock.Now().Add(-time.Hour), Result: "positive"})
	if c := tn.myCode(t, sickTok); c.Decision.Colour != "red" {
		t.Fatalf("a real positive test: %+v", c.Decision)
	}
	// And the clinic's diagnosis resting on it takes effect at once.
	if o := tn.submit(t, clinic, hchttp.EvidenceJSON{Kind: "diagnosis", IDNumber: sick, ExternalID: "ZZ-DX-SICK", CaseRef: "",
		ObservedAt: tn.clock.Now().Add(-30 * time.Minute), Diagnosis: "confirmed"}); o.Case == "" {
		t.Fatalf("a diagnosis after a real positive opened no case: %+v", o)
	}
	if c := tn.myCode(t, sickTok); c.Decision.Reason != "confirmed_case" {
		t.Fatalf("a diagnosis after a real positive: %+v", c.Decision)
	}
	// 4. A pair splitting a list across two units: an epidemiologist of
	// another unit colludes and confirms every held contact. Twenty people
	// of one case in a day is the most two units can do without oversight:
	// each of those is named to the person, with both officials; the
	// confirmation that crosses the limit waits for an auditor, who refuses.
	accomplice := tn.token(t, healthcode.Principal{ID: "epi-zz3", Name: "流调员 辛", Role: healthcode.RoleEpidemiologist, Unit: "某区疾控"})
	auditor := tn.token(t, healthcode.Principal{ID: "aud-zz", Name: "监督员 壬", Role: healthcode.RoleAuditor, Unit: "市纪委监委"})
	waiting := 0
	for i := range depositors {
		var r hchttp.RecordJSON
		if st := tn.post(t, fmt.Sprintf("/api/v1/records/%d/confirm", held[i]), accomplice, nil, &r); st != 200 {
			t.Fatalf("confirmation %d: %d %+v", i, st, r)
		}
		if r.Status == "pending" && r.NeedsCoSign {
			waiting++
			if st := tn.post(t, fmt.Sprintf("/api/v1/records/%d/refuse", held[i]), auditor, nil, &r); st != 200 || r.Status != "refused" {
				t.Fatalf("the auditor's refusal: %d %+v", st, r)
			}
			if c := tn.myCode(t, tokens[i]); c.Decision.Colour != "green" {
				t.Fatalf("depositor %d past the limit: %s", i, c.Decision.Colour)
			}
		}
	}
	if waiting != len(depositors)-healthcode.BulkLimit {
		t.Fatalf("%d confirmations waited for an auditor, want %d", waiting, len(depositors)-healthcode.BulkLimit)
	}
	if st := tn.do(t, "GET", "/api/v1/me/records", tokens[0], nil, &mine); st != 200 || len(mine.Records) != 1 ||
		!strings.Contains(mine.Records[0].Confirmer, "流调员 辛") || !strings.Contains(mine.Records[0].Requester, "流调员 丙") {
		t.Fatalf("a depositor does not see both officials: %+v", mine)
	}

	// And every attempt is in the log, naming the officials: one held
	// record per depositor, and the designation requests.
	named := map[string]int{}
	err := tn.db.View(t.Context(), func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(t.Context())
		if err != nil {
			return err
		}
		for i := int64(0); i < size; i++ {
			b, err := tx.LogLeaf(t.Context(), i)
			if err != nil {
				return err
			}
			l, err := tlog.DecodeLeaf(b)
			if err != nil {
				return err
			}
			// The attempt and its officials are in clear; its reason is
			// committed.
			if strings.Contains(l.Entry.Ref, " requested") {
				named[string(l.Entry.Type)+" by "+l.Entry.ActorName]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	byClinic := 0
	for k, n := range named {
		if strings.HasPrefix(k, "record by 郑大一附院 [clinic-1 ") {
			byClinic += n
		}
	}
	if named["record by 流调员 丙 [epi-zz @ 某局]"] != len(depositors)+1 || named["designation by 流调员 丙 [epi-zz @ 某局]"] != 1 ||
		byClinic != len(diagnosed)+1 {
		t.Errorf("attempts in the log: %v", named)
	}
	if _, err := tn.log.Publish(t.Context(), tn.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCmd(t, "log", "verify", "--key", tn.dir+"/log-signing.pub", tn.cfg.DB); code != 0 {
		t.Fatalf("log verify: %d %s%s", code, out, errs)
	}
}
