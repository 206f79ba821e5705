package engine_test

import (
	"fmt"
	"testing"
	"time"

	"healthcode"
)

var venueOwner = &healthcode.Principal{ID: "owner-001", Name: "便利店店主", Role: healthcode.RoleVenue}

// liveVenue registers and approves a venue in district through the engine.
func (e *env) liveVenue(district string) *healthcode.Venue {
	e.t.Helper()
	v, err := e.eng.RegisterVenue(e.ctx, venueOwner, healthcode.Venue{Name: "便利店 " + district, Address: "中原路1号", Region: district, Category: "retail"})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.eng.SetVenueStatus(e.ctx, operator, v.ID, healthcode.VenueActive); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// checkIn has person i scan v's live code now (verified), or its printed
// code (unverified: the photo someone forwarded).
func (e *env) checkIn(i int, v *healthcode.Venue, live bool) {
	e.t.Helper()
	code := v.StaticCode()
	if live {
		code = v.LiveCode(e.clock.Now())
	}
	c, _, err := e.eng.CheckIn(e.ctx, &healthcode.Principal{ID: e.subj[i], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[i]}, code)
	if err != nil || c.Verified != live {
		e.t.Fatalf("check-in of person %d: %+v %v", i, c, err)
	}
}

func (e *env) colour(i int) healthcode.Colour {
	if d := e.decision(e.subj[i]); d != nil {
		return d.Colour
	}
	return healthcode.Green
}

func contact(kind healthcode.EvidenceKind, i int, ids []string, ref, caseID string, at time.Time, link healthcode.Link) healthcode.Submission {
	return healthcode.Submission{IDNumber: ids[i], Link: link, Evidence: healthcode.Evidence{Kind: kind, ExternalID: ref, ObservedAt: at, CaseRef: caseID}}
}

func travel(i int, ids []string, ref, area string, at time.Time, link healthcode.Link) healthcode.Submission {
	return healthcode.Submission{IDNumber: ids[i], Link: link, Evidence: healthcode.Evidence{Kind: healthcode.Travel, ExternalID: ref, ObservedAt: at,
		RiskLevel: healthcode.RiskHigh, Area: area}}
}

func quarantine(i int, ids []string, ref string, at time.Time, link healthcode.Link) healthcode.Submission {
	return healthcode.Submission{IDNumber: ids[i], Link: link, Evidence: healthcode.Evidence{Kind: healthcode.QuarantineStart, ExternalID: ref, ObservedAt: at}}
}

var interview = healthcode.Link{Kind: healthcode.LinkInterview}

// one submits one item as epi (no fixture links) and returns its outcome.
func (e *env) one(actor *healthcode.Principal, s healthcode.Submission) healthcode.Outcome {
	e.t.Helper()
	outs, err := e.eng.Submit(e.ctx, actor, []healthcode.Submission{s})
	if err != nil {
		e.t.Fatal(err)
	}
	return outs[0]
}

// TestOneEpidemiologistCannotRedCode: one epidemiologist alone — contacts,
// secondary contacts, travel and quarantine — changes nobody's colour; a
// contact whose shared venue visit the node verified takes effect at once,
// and an interview confirmed by a second epidemiologist of another unit
// takes effect then.
func TestOneEpidemiologistCannotRedCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 13})
	e.enrol(epi, epi2, epiSame, approverEpi, auditor)
	now := e.clock.Now()
	caseID := e.openCaseOf(0, now)
	v := e.liveVenue("410102")
	printed := e.liveVenue("410103") // the case only scanned its printed code
	away := e.liveVenue("310115")    // in the high-risk area travellers come from

	// The case was at the venue (live code); person 3 only scanned a photo
	// of its code; person 4 was there with the case.
	e.checkIn(0, v, true)
	e.checkIn(3, v, false)
	e.checkIn(4, v, true)
	e.checkIn(6, away, false) // a forwarded photo of a code in the area
	e.checkIn(0, printed, false)
	e.checkIn(12, printed, true)
	e.clock.Advance(time.Hour)
	at := now.Add(-time.Hour)

	size := e.logSize()
	alone := []struct {
		name   string
		item   healthcode.Submission
		status string
		detail string
	}{
		{"close contact from an interview", contact(healthcode.CloseContact, 1, e.ids, "A-1", caseID, at, interview), healthcode.Pending, ""},
		{"secondary contact through a contact not in force", contact(healthcode.SecondaryContact, 2, e.ids, "A-2", caseID, at,
			healthcode.Link{Kind: healthcode.LinkInterview, ViaIDNumber: e.ids[1]}), healthcode.Rejected, "link.via_not_contact"},
		{"close contact at a venue the node never saw them share", contact(healthcode.CloseContact, 3, e.ids, "A-3", caseID, now,
			healthcode.Link{Kind: healthcode.LinkSharedVenue, Venue: v.ID}), healthcode.Rejected, "link.not_found"},
		{"close contact with no link", contact(healthcode.CloseContact, 5, e.ids, "A-4", caseID, at, healthcode.Link{}), healthcode.Rejected, "link.none"},
		{"close contact where the case's own presence is unverified", contact(healthcode.CloseContact, 12, e.ids, "A-10", caseID, now,
			healthcode.Link{Kind: healthcode.LinkSharedVenue, Venue: printed.ID}), healthcode.Rejected, "link.not_found"},
		{"travel from an interview", travel(5, e.ids, "A-5", "310115", at, interview), healthcode.Pending, ""},
		{"travel resting on a forwarded photo", travel(6, e.ids, "A-6", "310115", now, healthcode.Link{Kind: healthcode.LinkCheckIn}), healthcode.Rejected, "link.not_found"},
		{"travel with no link", travel(7, e.ids, "A-7", "310115", at, healthcode.Link{}), healthcode.Rejected, "link.none"},
		{"quarantine from an interview", quarantine(8, e.ids, "A-8", at, interview), healthcode.Pending, ""},
		{"quarantine resting on no record", quarantine(9, e.ids, "A-9", at, healthcode.Link{Kind: healthcode.LinkRecord}), healthcode.Rejected, "link.not_found"},
	}
	pending := map[int]int64{}
	for i, c := range alone {
		o := e.one(epi, c.item)
		if o.Status != c.status || (c.detail != "" && healthcode.ErrorDetail(o.Err) != c.detail) {
			t.Errorf("%s: %s %v, want %s %s", c.name, o.Status, o.Err, c.status, c.detail)
		}
		if o.Status == healthcode.Pending {
			pending[i] = o.Pending
		}
	}
	// A second signature from the requester or their own unit, or from
	// someone who is not an epidemiologist, changes nothing either.
	selfElsewhere := &healthcode.Principal{ID: epi.ID, Name: epi.Name, Role: epi.Role, Unit: epi2.Unit} // the requester under another unit's name
	for _, who := range []*healthcode.Principal{epi, epiSame, selfElsewhere} {
		_, err := e.eng.ConfirmRecord(e.ctx, who, pending[0])
		wantCode(t, "confirmation by "+who.Name, err, healthcode.EFORBIDDEN, "")
	}
	for _, who := range []*healthcode.Principal{approver, auditor, clinic} {
		_, err := e.eng.ConfirmRecord(e.ctx, who, pending[0])
		wantCode(t, "confirmation by a "+string(who.Role), err, healthcode.EFORBIDDEN, "auth.role")
	}
	for i := 1; i < len(e.subj); i++ {
		if c := e.colour(i); c != healthcode.Green {
			t.Errorf("person %d is %s after one epidemiologist acted alone", i, c)
		}
	}
	// Each attempt held is in the log, naming the epidemiologist; the
	// refused ones wrote nothing.
	if ls := e.leaves(size); len(ls) != 3 {
		t.Errorf("%d leaves for the attempts, want 3 (the held requests)", len(ls))
	} else {
		for _, l := range ls {
			if l.Entry.Type != healthcode.LogPendingRecord || l.Entry.ActorName != healthcode.ActorLabel(epi) {
				t.Errorf("attempt leaf %+v", l.Entry)
			}
		}
	}

	// Lawful: a verified shared visit takes effect at once.
	o := e.one(epi, contact(healthcode.CloseContact, 4, e.ids, "L-1", caseID, now, healthcode.Link{Kind: healthcode.LinkSharedVenue, Venue: v.ID}))
	if o.Status != healthcode.Accepted || e.colour(4) != healthcode.Red {
		t.Fatalf("contact with a verified shared visit: %s %v, colour %s", o.Status, o.Err, e.colour(4))
	}
	// Lawful: the interview confirmed by a second epidemiologist of another unit.
	r, err := e.eng.ConfirmRecord(e.ctx, epi2, pending[0])
	if err != nil || r.Status != healthcode.RecordInForce || e.colour(1) != healthcode.Red {
		t.Fatalf("confirmed interview: %+v %v, colour %s", r, err, e.colour(1))
	}
	if _, err := e.eng.ConfirmRecord(e.ctx, epi2, pending[0]); healthcode.ErrorCode(err) != healthcode.ECONFLICT {
		t.Errorf("confirming twice: %v", err)
	}
	// Now person 1 is a close contact in force: a secondary contact through
	// them is linked by the chain, confirmed by another unit.
	o = e.one(epi, contact(healthcode.SecondaryContact, 2, e.ids, "L-2", caseID, now, healthcode.Link{Kind: healthcode.LinkInterview, Via: e.subj[1]}))
	if o.Status != healthcode.Pending || e.colour(2) != healthcode.Green {
		t.Fatalf("secondary contact through a contact in force: %s %v", o.Status, o.Err)
	}
	if _, err := e.eng.ConfirmRecord(e.ctx, epi2, o.Pending); err != nil || e.colour(2) != healthcode.Yellow {
		t.Fatalf("confirmed secondary contact: %v, colour %s", err, e.colour(2))
	}
	// Travel confirmed; and travel resting on the person's own verified
	// check-in in the area, with the quarantine that follows from it.
	if _, err := e.eng.ConfirmRecord(e.ctx, epi2, pending[5]); err != nil || e.colour(5) != healthcode.Red {
		t.Fatalf("confirmed travel: %v, colour %s", err, e.colour(5))
	}
	e.checkIn(10, away, true)
	e.clock.Advance(time.Hour)
	if o := e.one(epi, travel(10, e.ids, "L-3", "310115", e.clock.Now(), healthcode.Link{Kind: healthcode.LinkCheckIn})); o.Status != healthcode.Accepted || e.colour(10) != healthcode.Red {
		t.Fatalf("travel resting on a verified check-in in the area: %s %v", o.Status, o.Err)
	}
	if o := e.one(epi, quarantine(10, e.ids, "L-4", e.clock.Now(), healthcode.Link{Kind: healthcode.LinkRecord})); o.Status != healthcode.Accepted {
		t.Fatalf("quarantine resting on the travel record: %s %v", o.Status, o.Err)
	}
	if _, err := e.eng.ConfirmRecord(e.ctx, epi2, pending[8]); err != nil {
		t.Fatalf("confirmed quarantine: %v", err)
	}
	// Refusal: by another epidemiologist; the requester cannot.
	o = e.one(epi, contact(healthcode.CloseContact, 11, e.ids, "L-5", caseID, at, interview))
	if _, err := e.eng.RefuseRecord(e.ctx, epi, o.Pending); healthcode.ErrorCode(err) != healthcode.EFORBIDDEN {
		t.Errorf("refusal by the requester: %v", err)
	}
	if r, err := e.eng.RefuseRecord(e.ctx, epi2, o.Pending); err != nil || r.Status != healthcode.RecordRefused {
		t.Errorf("refusal: %+v %v", r, err)
	}
	if _, err := e.eng.ConfirmRecord(e.ctx, epi2, o.Pending); healthcode.ErrorCode(err) != healthcode.ECONFLICT || e.colour(11) != healthcode.Green {
		t.Errorf("confirming a refused record: %v, colour %s", err, e.colour(11))
	}
	checkExplained(t, e, e.subj)
}

// TestContactBadInput: a contact with no link, with a link the node's data
// contradicts, or of an unknown case, is refused with a clear error and
// changes nothing.
func TestContactBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 6})
	now := e.clock.Now()
	caseID := e.openCaseOf(0, now)
	size := e.logSize()
	for _, c := range []struct {
		name   string
		item   healthcode.Submission
		detail string
	}{
		{"no link", contact(healthcode.CloseContact, 1, e.ids, "B-1", caseID, now, healthcode.Link{}), "link.none"},
		{"a link of another kind", contact(healthcode.CloseContact, 1, e.ids, "B-2", caseID, now, healthcode.Link{Kind: healthcode.LinkRecord}), "link.kind"},
		{"exposed before the case was infectious", contact(healthcode.CloseContact, 1, e.ids, "B-3", caseID, now.Add(-10*healthcode.Day), interview), "link.outside_window"},
		{"exposed after the case was isolated", contact(healthcode.CloseContact, 1, e.ids, "B-4", caseID, now.Add(3*time.Minute), interview), ""},
		{"a case as its own contact", contact(healthcode.CloseContact, 0, e.ids, "B-5", caseID, now, interview), "link.self"},
		{"an unknown case", contact(healthcode.CloseContact, 1, e.ids, "B-6", "C-AAAAAAAAAA", now, interview), "evidence.unknown_case"},
		{"free text as the case", contact(healthcode.CloseContact, 1, e.ids, "B-7", "none", now, interview), "evidence.unknown_case"},
		{"a secondary contact naming no one", contact(healthcode.SecondaryContact, 1, e.ids, "B-8", caseID, now, interview), "link.via"},
		{"a shared venue that does not exist", contact(healthcode.CloseContact, 1, e.ids, "B-9", caseID, now,
			healthcode.Link{Kind: healthcode.LinkSharedVenue, Venue: "vnowhere"}), "link.not_found"},
		{"a link on a test", healthcode.Submission{IDNumber: e.ids[1], Link: interview, Evidence: healthcode.Evidence{Kind: healthcode.QuarantineEnd,
			ExternalID: "B-10", ObservedAt: now}}, "link.not_applicable"},
	} {
		o := e.one(epi, c.item)
		if c.name == "exposed after the case was isolated" {
			// within the proximity allowed after the diagnosis: held, not refused
			if o.Status != healthcode.Pending {
				t.Errorf("%s: %s %v", c.name, o.Status, o.Err)
			}
			continue
		}
		if o.Status != healthcode.Rejected || healthcode.ErrorCode(o.Err) != healthcode.EINVALID || healthcode.ErrorDetail(o.Err) != c.detail {
			t.Errorf("%s: %s %v, want invalid %s", c.name, o.Status, o.Err, c.detail)
		}
	}
	if got := e.logSize(); got != size+1 {
		t.Errorf("log grew by %d, want 1 (the one record held)", got-size)
	}
	if c := e.colour(1); c != healthcode.Green {
		t.Errorf("person 1 is %s", c)
	}
	// A diagnosis citing a case must cite one of the same person's.
	o := e.one(clinic, healthcode.Submission{IDNumber: e.ids[2], Evidence: healthcode.Evidence{Kind: healthcode.Diagnosis, ExternalID: "B-11",
		ObservedAt: now, Diagnosis: healthcode.DiagnosisDischarged, CaseRef: caseID}})
	if healthcode.ErrorDetail(o.Err) != "evidence.case_not_linked" {
		t.Errorf("discharge citing another person's case: %s %v", o.Status, o.Err)
	}
	// A repeated diagnosis is a duplicate that opens no second case.
	again := e.one(clinic, healthcode.Submission{IDNumber: e.ids[0], Evidence: healthcode.Evidence{Kind: healthcode.Diagnosis,
		ExternalID: "DX-P0", ObservedAt: now, Diagnosis: healthcode.DiagnosisConfirmed}})
	if again.Status != healthcode.Duplicate || again.Case != caseID {
		t.Errorf("repeated diagnosis: %+v", again)
	}
	e.view(func(tx healthcode.ReadTx) error {
		cs, err := tx.CasesOf(e.ctx, e.subj[0])
		if err != nil || len(cs) != 1 {
			t.Errorf("cases of person 0: %+v %v", cs, err)
		}
		return nil
	})
	_ = fmt.Sprint()
}
