package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/tlog"
)

// caseFixture is what caseLinks keeps: the node's id of case 410100-C001,
// the fixture's venues by district, the last close contact linked.
type caseFixture struct {
	id          string
	venues      map[string]*healthcode.Venue
	lastContact string
	units       map[string]string // registry unit ids by name
}

// testCase is the story's label of the fixture case that tests cite.
const testCase = "410100-C001"

// caseLinks opens the fixture case (the patient's confirmed diagnosis, now)
// when an item cites it, replaces the label by the node's case id, and
// gives each contact, travel and quarantine-start item stating no link of
// its own one the node checks at once: verified check-ins of the two
// people at one venue at the exposure (a secondary contact through the last
// close contact linked), a verified check-in in the travel area, the record
// a quarantine follows. The check-ins are fixture data, stored directly.
func (e *env) caseLinks(items []healthcode.Submission) []healthcode.Submission {
	e.t.Helper()
	out := append([]healthcode.Submission(nil), items...)
	for _, it := range out {
		k := it.Evidence.Kind
		if (k == healthcode.CloseContact || k == healthcode.SecondaryContact) && it.Evidence.CaseRef == testCase && !e.caseStored {
			e.caseStored = true
			dx := healthcode.Submission{IDNumber: e.patient.IDNumber, Evidence: healthcode.Evidence{Kind: healthcode.Diagnosis,
				ExternalID: "DX-C001", ObservedAt: e.clock.Now(), Diagnosis: healthcode.DiagnosisConfirmed}}
			e.corroborate(e.patient.IDNumber, dx.Evidence.ObservedAt)
			outs, err := e.eng.Submit(e.ctx, clinic, []healthcode.Submission{dx})
			if err != nil || outs[0].Case == "" {
				e.t.Fatalf("opening the fixture case: %v %+v", err, outs)
			}
			e.cases.id = outs[0].Case
		}
	}
	patient := e.eng.Keys.Pseudonymize(region, e.patient.IDNumber)
	for i := range out {
		ev := &out[i].Evidence
		if (ev.Kind == healthcode.CloseContact || ev.Kind == healthcode.SecondaryContact) && ev.CaseRef == testCase {
			ev.CaseRef = e.cases.id
		}
		if out[i].Link.Kind != "" || out[i].IDNumber == "" {
			continue
		}
		subject := e.eng.Keys.Pseudonymize(region, out[i].IDNumber)
		switch ev.Kind {
		case healthcode.CloseContact:
			v := e.fixtureVenue("410102")
			e.fixtureCheckIns(v, ev.ObservedAt, subject, patient)
			out[i].Link = healthcode.Link{Kind: healthcode.LinkSharedVenue, Venue: v.ID}
			e.cases.lastContact = subject
		case healthcode.SecondaryContact:
			v := e.fixtureVenue("410102")
			e.fixtureCheckIns(v, ev.ObservedAt, subject, e.cases.lastContact)
			out[i].Link = healthcode.Link{Kind: healthcode.LinkSharedVenue, Venue: v.ID, Via: e.cases.lastContact}
		case healthcode.Travel:
			v := e.fixtureVenue(ev.Area)
			e.fixtureCheckIns(v, ev.ObservedAt.Add(-time.Hour), subject)
			out[i].Link = healthcode.Link{Kind: healthcode.LinkCheckIn}
		case healthcode.QuarantineStart:
			out[i].Link = healthcode.Link{Kind: healthcode.LinkRecord}
		}
	}
	return out
}

// fixtureVenue returns the fixture's active venue in a district, storing
// it the first time.
func (e *env) fixtureVenue(district string) *healthcode.Venue {
	e.t.Helper()
	if v, ok := e.cases.venues[district]; ok {
		return v
	}
	// Fixture data, stored directly: a fixed id and no log entry, so that
	// the tests that compare two runs, or count the log's leaves, see only
	// what they submit.
	v := &healthcode.Venue{ID: "vfixture" + district, Name: "fixture " + district, Address: "fixture", Region: district, Category: "retail",
		Owner: "fixture", Secret: make([]byte, healthcode.VenueSecretSize), Status: healthcode.VenueActive, RegisteredAt: t0}
	if err := e.eng.Keys.SealVenue(v); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Update(e.ctx, func(tx healthcode.Tx) error { return tx.CreateVenue(e.ctx, v) }); err != nil {
		e.t.Fatal(err)
	}
	if e.cases.venues == nil {
		e.cases.venues = map[string]*healthcode.Venue{}
	}
	e.cases.venues[district] = v
	return v
}

// fixtureCheckIns stores verified check-ins of the subjects at v at t.
func (e *env) fixtureCheckIns(v *healthcode.Venue, t time.Time, subjects ...string) {
	e.t.Helper()
	var cs []*healthcode.CheckIn
	for _, s := range subjects {
		cs = append(cs, &healthcode.CheckIn{Venue: v.ID, Subject: s, At: t, Slot: healthcode.SlotOf(t), Verified: true})
	}
	if err := e.db.Update(e.ctx, func(tx healthcode.Tx) error { _, err := tx.InsertCheckIns(e.ctx, cs); return err }); err != nil {
		e.t.Fatal(fmt.Errorf("fixture check-ins: %w", err))
	}
}

// Officials of other units than epi's, for second signatures.
var (
	epi2     = &healthcode.Principal{ID: "epi-002", Name: "流调员 赵敏", Role: healthcode.RoleEpidemiologist, Unit: "区疾控中心"}
	epiSame  = &healthcode.Principal{ID: "epi-003", Name: "流调员 孙伟", Role: healthcode.RoleEpidemiologist, Unit: "市疾控中心"}
	approver = &healthcode.Principal{ID: "approver-001", Name: "审批员 周洁", Role: healthcode.RoleApprover, Unit: "市卫健委"}
	auditor  = &healthcode.Principal{ID: "auditor-001", Name: "监督员 郑红", Role: healthcode.RoleAuditor, Unit: "纪检监察组"}
	operator = &healthcode.Principal{ID: "operator-001", Name: "操作员 钱明", Role: healthcode.RoleOperator, Unit: "市大数据局"}
)

// openCaseOf has the clinic diagnose person i a confirmed case, and returns
// the id of the case it opens.
func (e *env) openCaseOf(i int, at time.Time) string {
	e.t.Helper()
	e.corroborate(e.ids[i], at)
	o := e.submitOK(clinic, healthcode.Submission{IDNumber: e.ids[i], Evidence: healthcode.Evidence{Kind: healthcode.Diagnosis,
		ExternalID: fmt.Sprintf("DX-P%d", i), ObservedAt: at, Diagnosis: healthcode.DiagnosisConfirmed}})[0]
	if o.Case == "" {
		e.t.Fatalf("diagnosis of person %d opened no case: %+v", i, o)
	}
	return o.Case
}

// enrol makes the officials officials of the registry, under their ids
// and units (once each): a second signature is checked against it.
func (e *env) enrol(ps ...*healthcode.Principal) {
	e.t.Helper()
	for _, p := range ps {
		c := *p
		if _, err := e.eng.CreateToken(e.ctx, &c); err != nil && healthcode.ErrorCode(err) != healthcode.ECONFLICT {
			e.t.Fatal(err)
		}
	}
}

// corroborate gives a diagnosis of the person at the time what it rests
// on (diagnosisCorroborated): a sampler (of another unit than the clinic's)
// collects a single tube an hour before, and the lab reports it positive.
func (e *env) corroborate(idNumber string, at time.Time) {
	e.t.Helper()
	e.basis++
	tube := fmt.Sprintf("DXBASIS-%d", e.basis)
	e.collectOK(healthcode.CollectionRequest{IDNumber: idNumber, Tube: tube, Site: "金水区文化路采样点", CollectedAt: at.Add(-time.Hour)})
	outs, err := e.eng.Submit(e.ctx, lab, []healthcode.Submission{tubeResult(0, tube, healthcode.Positive)})
	if err != nil || outs[0].Status != healthcode.Accepted {
		e.t.Fatalf("the positive a diagnosis rests on: %v %+v", err, outs)
	}
}

// unmask asks, has an approver of another unit approve, and reads.
func (e *env) unmask(actor *healthcode.Principal, subject, caseID string) (*healthcode.Person, error) {
	e.enrol(actor, approver)
	r, err := e.eng.RequestUnmask(e.ctx, actor, subject, "case_investigation", caseID)
	if err != nil {
		return nil, err
	}
	if _, err := e.eng.ApproveUnmask(e.ctx, approver, r.ID); err != nil {
		return nil, err
	}
	p, _, err := e.eng.Unmask(e.ctx, actor, r.ID)
	return p, err
}

// checkCaseLeaf checks a case leaf: in clear it says only that a case was
// opened; opened, it names a stored case whose log index it is and the
// clinic that opened it, and no person.
func checkCaseLeaf(t *testing.T, e *env, tx healthcode.ReadTx, i int64, leaf *tlog.Leaf) {
	t.Helper()
	if leaf.Entry.Ref != "" || leaf.Entry.ActorName != "" {
		t.Errorf("case leaf %d holds in clear %+v", i, leaf.Entry)
	}
	subject, opening, err := tx.LogOpening(e.ctx, i)
	if err != nil {
		t.Errorf("case leaf %d: %v", i, err)
		return
	}
	entry, err := leaf.Open(subject, opening)
	if err != nil || subject != "" {
		t.Errorf("case leaf %d: %v (subject %q)", i, err, subject)
		return
	}
	id, ok := strings.CutPrefix(entry.Ref, "case/")
	c, err := tx.Case(e.ctx, id)
	if !ok || err != nil {
		t.Errorf("case leaf %d names %q: %v", i, entry.Ref, err)
		return
	}
	if c.LogIndex != i || entry.ActorName != healthcode.ActorLabel(&c.Clinic) || entry.ActorRole != healthcode.RoleClinic {
		t.Errorf("case leaf %d = %+v, case %+v", i, entry, c)
	}
}

// registered adds an official to the registry (their unit too, by name, the
// first time; a second admin approves an approver or an auditor) and
// returns the principal they act as.
func (e *env) registered(name string, role healthcode.Role, unitName string) *healthcode.Principal {
	e.t.Helper()
	if e.cases.units == nil {
		e.cases.units = map[string]string{}
	}
	unit, ok := e.cases.units[unitName]
	if !ok {
		u, err := e.eng.CreateUnit(e.ctx, admin, healthcode.Unit{Name: unitName})
		if err != nil {
			e.t.Fatal(err)
		}
		unit, e.cases.units[unitName] = u.ID, u.ID
	}
	o, prop, err := e.eng.CreateOfficial(e.ctx, admin, healthcode.Official{Name: name, Role: role, Unit: unit})
	if err != nil {
		e.t.Fatal(err)
	}
	if prop != nil {
		if o, err = e.eng.ApproveOfficial(e.ctx, admin2, prop.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return o.Principal()
}
