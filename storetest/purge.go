package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"healthcode"
	"healthcode/tlog"

	"github.com/google/go-cmp/cmp"
)

// purgeWorld is what the purge and sunset tests put in a store: two people
// with evidence of several ages, each piece logged with a subject opening
// as the engine logs it, check-ins, designations, access records and a
// decision.
type purgeWorld struct {
	p, q      *healthcode.Person
	venue     *healthcode.Venue
	evidence  map[string]*healthcode.Evidence // by external id
	leafOf    map[int64]int64                 // evidence id → its log leaf
	decision  *healthcode.Decision
	checkIns  []*healthcode.CheckIn
	desigs    []*healthcode.RiskDesignation
	noteLeaf  []int64 // desigs[i]'s refusal leaf, whose note is committed
	access    []*healthcode.AccessRecord
	logSize   int64
	ruleLeaf  int64 // a leaf about no one
	decisionL int64 // the decision's leaf
}

func day(n int) time.Duration { return time.Duration(n) * healthcode.Day }

func buildPurgeWorld(t *testing.T, s healthcode.Store) *purgeWorld {
	t.Helper()
	ctx := context.Background()
	w := &purgeWorld{evidence: map[string]*healthcode.Evidence{}, leafOf: map[int64]int64{}}
	w.p = MustPerson(t, s, "张小明", "410102199001011234")
	w.q = MustPerson(t, s, "李四", "410102199001011235")
	w.venue = &healthcode.Venue{ID: "vpurgetest", Name: "二七广场便利店", Address: "二七区", Region: "410103", Category: "retail",
		Owner: "owner-1", SealedSecret: bytes.Repeat([]byte{9}, 69), Status: healthcode.VenueActive, RegisteredAt: t0}
	ev := func(p *healthcode.Person, ext string, kind healthcode.EvidenceKind, at time.Time) *healthcode.Evidence {
		e := &healthcode.Evidence{Kind: kind, Subject: p.Pseudonym, Submitter: "clinic-1", SubmitterName: "第一医院",
			SubmitterRole: healthcode.RoleClinic, ExternalID: ext, ObservedAt: at, RecordedAt: at.Add(time.Hour)}
		switch kind {
		case healthcode.NucleicAcidTest:
			e.Result = healthcode.Negative
		case healthcode.CloseContact:
			e.CaseRef = "410100-C001"
		case healthcode.Diagnosis:
			e.Diagnosis, e.CaseRef = healthcode.DiagnosisConfirmed, "410100-C002"
		case healthcode.Vaccination:
			e.Dose = 1
		}
		w.evidence[ext] = e
		return e
	}
	evs := []*healthcode.Evidence{
		ev(w.p, "P-old-test", healthcode.NucleicAcidTest, t0),
		ev(w.p, "P-new-test", healthcode.NucleicAcidTest, t0.Add(day(20))),
		ev(w.p, "P-vaccine", healthcode.Vaccination, t0),
		ev(w.q, "Q-old-contact", healthcode.CloseContact, t0),
		ev(w.q, "Q-diagnosis", healthcode.Diagnosis, t0),
	}
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.CreateVenue(ctx, w.venue); err != nil {
			return err
		}
		if _, err := tx.InsertEvidence(ctx, evs); err != nil {
			return err
		}
		// The log as the engine writes it: a rule set (no subject), one
		// leaf per piece of evidence, one decision.
		entries := []*healthcode.LogEntry{{Type: healthcode.LogRuleSet, Time: t0, Region: "410100", ActorName: "admin",
			ActorRole: healthcode.RoleAdmin, Ref: "baseline"}}
		for _, e := range evs {
			entries = append(entries, &healthcode.LogEntry{Type: healthcode.LogEvidence, Time: e.RecordedAt, Region: "410100",
				Subject: e.Subject, EvidenceDigest: healthcode.EvidenceSetDigest([]healthcode.Evidence{*e}), ActorName: e.SubmitterName,
				ActorRole: e.SubmitterRole, Ref: "evidence/" + strconv.FormatInt(e.ID, 10)})
		}
		w.decision = &healthcode.Decision{Subject: w.p.Pseudonym, Colour: healthcode.Green, Reason: "negative_test", RuleID: "r1",
			RuleSetVersion: "v1", RuleSetHash: "", EvidenceIDs: []int64{evs[1].ID}, EvidenceDigest: healthcode.EvidenceSetDigest([]healthcode.Evidence{*evs[1]}),
			ReviewAt: t0.Add(day(40)), DecidedAt: t0.Add(day(20))}
		entries = append(entries, &healthcode.LogEntry{Type: healthcode.LogDecision, Time: w.decision.DecidedAt, Region: "410100",
			Subject: w.p.Pseudonym, Colour: w.decision.Colour, Reason: w.decision.Reason, RuleID: w.decision.RuleID,
			EvidenceDigest: w.decision.EvidenceDigest, ActorName: "rules:v1", ActorRole: healthcode.RoleSystem, Ref: "ruleset/v1"})
		for i, e := range entries {
			e.Index = int64(i)
		}
		if err := (&tlog.Log{}).Append(ctx, tx, entries); err != nil {
			return err
		}
		w.ruleLeaf, w.decisionL, w.logSize = 0, int64(len(entries)-1), int64(len(entries))
		for i, e := range evs {
			w.leafOf[e.ID] = int64(i + 1)
		}
		w.decision.LogIndex = w.decisionL
		if err := tx.PutDecision(ctx, w.decision); err != nil {
			return err
		}
		w.checkIns = []*healthcode.CheckIn{
			{Venue: w.venue.ID, Subject: w.p.Pseudonym, At: t0, Slot: -1},
			{Venue: w.venue.ID, Subject: w.p.Pseudonym, At: t0.Add(day(20)), Slot: 7, Verified: true},
			{Venue: w.venue.ID, Subject: w.q.Pseudonym, At: t0.Add(day(1)), Slot: -1},
		}
		if _, err := tx.InsertCheckIns(ctx, w.checkIns); err != nil {
			return err
		}
		for _, expires := range []time.Time{t0.Add(day(1)), t0.Add(day(25))} {
			d := &healthcode.RiskDesignation{Venue: w.venue.ID, Level: healthcode.RiskMedium, Reason: "case_visited",
				Cases: []int64{evs[4].ID}, From: t0, Until: t0.Add(time.Hour), Expires: expires, Status: healthcode.DesignationPending,
				Requester: healthcode.Principal{ID: "epi-1", Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: "疾控"}, CreatedAt: t0}
			if err := tx.CreateDesignation(ctx, d); err != nil {
				return err
			}
			w.desigs = append(w.desigs, d)
		}
		// Each designation's refusal is logged with the approver's words
		// as its (committed) note, kept beside the tree as long as the
		// designation.
		var notes []*healthcode.LogEntry
		for i, d := range w.desigs {
			notes = append(notes, &healthcode.LogEntry{Index: w.logSize + int64(i), Type: healthcode.LogDesignation, Time: t0,
				Region: "410100", Reason: "refused.case_visited", ActorName: "审批人 (卫健委)", ActorRole: healthcode.RoleApprover,
				Ref: fmt.Sprintf("designation/%d refused", d.ID), Note: "not a case: 王五 13900001111"})
			w.noteLeaf = append(w.noteLeaf, w.logSize+int64(i))
		}
		if err := (&tlog.Log{}).Append(ctx, tx, notes); err != nil {
			return err
		}
		w.logSize += int64(len(notes))
		epi := healthcode.Principal{ID: "epi-1", Name: "流调员 李娜", Role: healthcode.RoleEpidemiologist, Unit: "疾控"}
		for _, a := range []*healthcode.AccessRecord{
			{Time: t0, Actor: epi, Purpose: "contact_tracing", CaseRef: "410100-C001", What: "name", Subject: w.q.Pseudonym},
			{Time: t0.Add(day(20)), Actor: epi, Purpose: "contact_tracing", CaseRef: "410100-C001", What: "venue", Subject: ""},
		} {
			if err := tx.RecordAccess(ctx, a); err != nil {
				return err
			}
			w.access = append(w.access, a)
		}
		return nil
	})
	return w
}

// purgeRetention keeps tests and contacts 28 days, diagnoses 90, vaccinations
// a year, check-ins 28 days, designations 7 days past their expiry and
// access records 14 days.
func purgeRetention() healthcode.Retention {
	r := healthcode.DefaultRetention()
	r.Designations, r.Access = day(7), day(14)
	return r
}

// Purge checks Tx.Purge: exactly the data older than the plan's cutoffs
// goes, with the openings of the deleted evidence's and designations' log
// leaves; the
// leaves themselves, decisions and everything younger stay; a second purge
// deletes nothing.
func Purge(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	w := buildPurgeWorld(t, s)
	now := t0.Add(day(30))
	plan := purgeRetention().Plan(now)

	err := s.Update(ctx, func(tx healthcode.Tx) error { _, err := tx.Purge(ctx, nil); return err })
	wantCode(t, err, healthcode.EINVALID)

	var rep *healthcode.PurgeReport
	update(t, s, func(tx healthcode.Tx) error {
		var err error
		rep, err = tx.Purge(ctx, plan)
		return err
	})
	want := zeroCounts()
	want["evidence/nucleic_acid_test"], want["evidence/close_contact"] = 1, 1
	want["checkins"], want["designations"], want["access_records"], want["log_openings"] = 2, 1, 1, 3
	subjects := []string{w.p.Pseudonym, w.q.Pseudonym}
	if subjects[0] > subjects[1] {
		subjects[0], subjects[1] = subjects[1], subjects[0]
	}
	if diff := cmp.Diff(&healthcode.PurgeReport{Counts: want, Subjects: subjects}, rep); diff != "" {
		t.Errorf("Purge report (-want +got):\n%s", diff)
	}
	gone := map[int64]bool{w.evidence["P-old-test"].ID: true, w.evidence["Q-old-contact"].ID: true}
	view(t, s, func(tx healthcode.ReadTx) error {
		// No expired row remains; everything younger does.
		for _, p := range []*healthcode.Person{w.p, w.q} {
			evs, err := tx.Evidence(ctx, p.Pseudonym)
			if err != nil {
				return err
			}
			for _, e := range evs {
				if e.ObservedAt.Before(plan.EvidenceBefore[e.Kind]) {
					t.Errorf("expired evidence %d (%s of %s) remains", e.ID, e.Kind, e.ObservedAt)
				}
			}
			cs, err := tx.CheckInsOf(ctx, p.Pseudonym, time.Unix(0, 0), now.Add(day(1)))
			if err != nil {
				return err
			}
			for _, c := range cs {
				if c.At.Before(plan.CheckInsBefore) {
					t.Errorf("expired check-in %d at %s remains", c.ID, c.At)
				}
			}
		}
		for ext, e := range w.evidence {
			_, err := tx.EvidenceByID(ctx, e.ID)
			if gone[e.ID] {
				wantCode(t, err, healthcode.ENOTFOUND)
			} else if err != nil {
				t.Errorf("evidence %s (%d) was deleted: %v", ext, e.ID, err)
			}
			// The leaf stays (the tree is intact); only a deleted piece's
			// opening goes.
			if _, err := tx.LogLeaf(ctx, w.leafOf[e.ID]); err != nil {
				t.Errorf("leaf %d of evidence %s: %v", w.leafOf[e.ID], ext, err)
			}
			_, _, err = tx.LogOpening(ctx, w.leafOf[e.ID])
			if gone[e.ID] {
				wantCode(t, err, healthcode.ENOTFOUND)
			} else if err != nil {
				t.Errorf("opening of evidence %s's leaf: %v", ext, err)
			}
		}
		if subj, _, err := tx.LogOpening(ctx, w.decisionL); err != nil || subj != w.p.Pseudonym {
			t.Errorf("the decision's opening: %q, %v", subj, err)
		}
		if n, err := tx.LogSize(ctx); err != nil || n != w.logSize {
			t.Errorf("LogSize after purge = %d, %v; want %d", n, err, w.logSize)
		}
		d, err := tx.Decision(ctx, w.p.Pseudonym)
		if err != nil || d.ID != w.decision.ID {
			t.Errorf("the decision did not stay: %v, %v", d, err)
		}
		cs, err := tx.CheckIns(ctx, healthcode.CheckInQuery{Venue: w.venue.ID, From: time.Unix(0, 0), To: now.Add(day(1))}, healthcode.CheckInCursor{}, 100)
		if err != nil {
			return err
		}
		if len(cs) != 1 || cs[0].ID != w.checkIns[1].ID {
			t.Errorf("check-ins after purge = %+v, want only %d", cs, w.checkIns[1].ID)
		}
		_, err = tx.Designation(ctx, w.desigs[0].ID)
		wantCode(t, err, healthcode.ENOTFOUND)
		// The deleted designation's note goes with it; the other's stays.
		_, _, err = tx.LogOpening(ctx, w.noteLeaf[0])
		wantCode(t, err, healthcode.ENOTFOUND)
		if subj, opening, err := tx.LogOpening(ctx, w.noteLeaf[1]); err != nil || subj != "" || len(opening) == 0 {
			t.Errorf("the kept designation's note: %q, %v", subj, err)
		}
		if _, err := tx.Designation(ctx, w.desigs[1].ID); err != nil {
			t.Errorf("designation expiring after the cutoff was deleted: %v", err)
		}
		as, err := tx.AccessRecords(ctx, "", 100)
		if err != nil {
			return err
		}
		if len(as) != 1 || as[0].ID != w.access[1].ID {
			t.Errorf("access records after purge = %+v, want only %d", as, w.access[1].ID)
		}
		return nil
	})
	// A second purge at the same time finds nothing more.
	update(t, s, func(tx healthcode.Tx) error {
		var err error
		rep, err = tx.Purge(ctx, plan)
		return err
	})
	if diff := cmp.Diff(&healthcode.PurgeReport{Counts: zeroCounts()}, rep); diff != "" {
		t.Errorf("second Purge report (-want +got):\n%s", diff)
	}
	// A purge that is rolled back deletes nothing.
	later := purgeRetention().Plan(now.Add(day(400)))
	boom := fmt.Errorf("rolled back")
	if err := s.Update(ctx, func(tx healthcode.Tx) error {
		if _, err := tx.Purge(ctx, later); err != nil {
			return err
		}
		return boom
	}); err != boom {
		t.Fatalf("Update = %v, want %v", err, boom)
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		evs, err := tx.Evidence(ctx, w.p.Pseudonym)
		if err != nil || len(evs) != 2 {
			t.Errorf("after a rolled-back purge: %d pieces of evidence, %v; want 2", len(evs), err)
		}
		return nil
	})
}

func zeroCounts() map[string]int64 {
	m := map[string]int64{"checkins": 0, "collections": 0, "log_openings/collections": 0, "designations": 0, "access_records": 0, "log_openings": 0}
	for _, k := range healthcode.EvidenceKinds {
		m["evidence/"+string(k)] = 0
	}
	return m
}

// Sunset checks Tx.Sunset: every person and everything about them goes
// (data keys first), citizens' tokens too; the log's leaves, hashes and
// checkpoints, the rule sets, venues, designations and officials' tokens
// stay, and the tree still verifies with the same root.
func Sunset(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	w := buildPurgeWorld(t, s)
	official := &healthcode.Principal{ID: "lab-1", Name: "第一检测所", Role: healthcode.RoleLab, Unit: "lab-1"}
	rs := &healthcode.RuleSetRecord{Version: "v1", Hash: "h1", Source: []byte("rules"), PublishedAt: t0, PublishedBy: "admin"}
	var root [32]byte
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.CreateToken(ctx, &healthcode.Token{ID: "tcitizen", Hash: []byte("citizen"), Principal: healthcode.Principal{ID: w.p.Pseudonym,
			Name: w.p.MaskedName, Role: healthcode.RoleCitizen, Subject: w.p.Pseudonym}, IssuedAt: t0, Expires: t0.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, &healthcode.Session{Hash: []byte("citizen-session"), TokenHash: []byte("citizen"), Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &healthcode.Token{ID: "tofficial", Hash: []byte("official"), Principal: *official, IssuedAt: t0, Expires: t0.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.PutRuleSet(ctx, rs, true); err != nil {
			return err
		}
		a, err := tlog.NewAppender(w.logSize, tlog.StoreHashReader(ctx, tx))
		if err != nil {
			return err
		}
		h, err := a.Root()
		root = h
		if err != nil {
			return err
		}
		return tx.PutCheckpoint(ctx, &healthcode.Checkpoint{Size: w.logSize, Root: root, Note: []byte("note"), Time: t0})
	})
	var rep *healthcode.PurgeReport
	update(t, s, func(tx healthcode.Tx) error {
		var err error
		rep, err = tx.Sunset(ctx)
		return err
	})
	for key, want := range map[string]int64{
		"person_keys": 2, "people": 2, "evidence": 5, "decisions": 1, "checkins": 3,
		"access_records": 2, "citizen_tokens": 1, "log_openings": 8,
	} {
		if got, ok := rep.Counts[key]; !ok || got != want {
			t.Errorf("Sunset counts[%s] = %d (present %v), want %d", key, got, ok, want)
		}
	}
	if len(rep.Subjects) != 0 {
		t.Errorf("Sunset names subjects: %v", rep.Subjects)
	}
	checkSunset := func() {
		view(t, s, func(tx healthcode.ReadTx) error {
			if n, err := tx.PeopleCount(ctx); err != nil || n != 0 {
				t.Errorf("PeopleCount after sunset = %d, %v", n, err)
			}
			for _, p := range []*healthcode.Person{w.p, w.q} {
				_, err := tx.Person(ctx, p.Pseudonym)
				wantCode(t, err, healthcode.ENOTFOUND)
				_, err = tx.PersonByIDHash(ctx, p.IDHash)
				wantCode(t, err, healthcode.ENOTFOUND)
				_, err = tx.Decision(ctx, p.Pseudonym)
				wantCode(t, err, healthcode.ENOTFOUND)
				if evs, err := tx.Evidence(ctx, p.Pseudonym); err != nil || len(evs) != 0 {
					t.Errorf("evidence after sunset: %v, %v", evs, err)
				}
				if cs, err := tx.CheckInsOf(ctx, p.Pseudonym, time.Unix(0, 0), t0.Add(day(100))); err != nil || len(cs) != 0 {
					t.Errorf("check-ins after sunset: %v, %v", cs, err)
				}
			}
			if ds, err := tx.DecisionRows(ctx, 0, 10); err != nil || len(ds) != 0 {
				t.Errorf("decision rows after sunset: %v, %v", ds, err)
			}
			if as, err := tx.AccessRecords(ctx, "", 10); err != nil || len(as) != 0 {
				t.Errorf("access records after sunset: %v, %v", as, err)
			}
			_, err := tx.Token(ctx, []byte("citizen"))
			wantCode(t, err, healthcode.EUNAUTHORIZED)
			_, err = tx.Session(ctx, []byte("citizen-session"))
			wantCode(t, err, healthcode.ENOTFOUND)
			if got, err := tx.Token(ctx, []byte("official")); err != nil || got.Principal.ID != official.ID {
				t.Errorf("an official's token after sunset: %v, %v", got, err)
			}
			size, err := tx.LogSize(ctx)
			if err != nil || size != w.logSize {
				t.Fatalf("LogSize after sunset = %d, %v; want %d", size, err, w.logSize)
			}
			for i := range size {
				if _, _, err := tx.LogOpening(ctx, i); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
					t.Errorf("leaf %d keeps a subject opening after sunset (%v)", i, err)
				}
			}
			r := tlog.StoreHashReader(ctx, tx)
			if err := tlog.VerifyTree(size, func(i int64) ([]byte, error) { return tx.LogLeaf(ctx, i) }, r, nil); err != nil {
				t.Errorf("the tree does not verify after sunset: %v", err)
			}
			a, err := tlog.NewAppender(size, r)
			if err != nil {
				return err
			}
			if got, err := a.Root(); err != nil || got != root {
				t.Errorf("root after sunset = %x, %v; want %x", got, err, root)
			}
			if cp, err := tx.LatestCheckpoint(ctx); err != nil || cp.Size != w.logSize {
				t.Errorf("checkpoint after sunset: %v, %v", cp, err)
			}
			if got, err := tx.ActiveRuleSet(ctx); err != nil || got.Version != rs.Version {
				t.Errorf("rule set after sunset: %v, %v", got, err)
			}
			if _, err := tx.Venue(ctx, w.venue.ID); err != nil {
				t.Errorf("venue after sunset: %v", err)
			}
			if _, err := tx.Designation(ctx, w.desigs[1].ID); err != nil {
				t.Errorf("designation after sunset: %v", err)
			}
			return nil
		})
	}
	checkSunset()
	// A second sunset finds nothing; compaction (if the store has it)
	// keeps what stays.
	update(t, s, func(tx healthcode.Tx) error {
		var err error
		rep, err = tx.Sunset(ctx)
		return err
	})
	for key, n := range rep.Counts {
		if n != 0 {
			t.Errorf("second Sunset deleted %d %s", n, key)
		}
	}
	if c, ok := s.(healthcode.Compacter); ok {
		if err := c.Compact(ctx); err != nil {
			t.Fatalf("Compact: %v", err)
		}
		checkSunset()
	}
}

// Figures checks ReadTx.OversightFigures on the purge world: people by
// colour, decisions by reason and evidence by kind and submitter since a
// time, counted by hand.
func Figures(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	buildPurgeWorld(t, s)
	check := func(since time.Time, want *healthcode.OversightFigures) {
		t.Helper()
		view(t, s, func(tx healthcode.ReadTx) error {
			got, err := tx.OversightFigures(ctx, since)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("OversightFigures(%s) (-want +got):\n%s", since, diff)
			}
			return nil
		})
	}
	// Everything: five pieces of evidence from one clinic, one decision
	// (green, negative_test) held by one of the two people.
	check(time.Unix(0, 0), &healthcode.OversightFigures{Since: time.Unix(0, 0), People: 2, Colours: map[healthcode.Colour]int64{healthcode.Green: 1},
		DecisionsByReason: map[string]int64{"negative_test": 1},
		EvidenceByKind: map[healthcode.EvidenceKind]int64{healthcode.NucleicAcidTest: 2, healthcode.Vaccination: 1, healthcode.CloseContact: 1,
			healthcode.Diagnosis: 1},
		EvidenceBySubmitter: map[string]int64{"第一医院": 5}})
	// Since day 10: the young test and the decision made on day 20.
	since := t0.Add(day(10))
	check(since, &healthcode.OversightFigures{Since: since, People: 2, Colours: map[healthcode.Colour]int64{healthcode.Green: 1},
		DecisionsByReason: map[string]int64{"negative_test": 1}, EvidenceByKind: map[healthcode.EvidenceKind]int64{healthcode.NucleicAcidTest: 1},
		EvidenceBySubmitter: map[string]int64{"第一医院": 1}})
	// After everything: nothing but the colours.
	later := t0.Add(day(100))
	check(later, &healthcode.OversightFigures{Since: later, People: 2, Colours: map[healthcode.Colour]int64{healthcode.Green: 1},
		DecisionsByReason: map[string]int64{}, EvidenceByKind: map[healthcode.EvidenceKind]int64{}, EvidenceBySubmitter: map[string]int64{}})
}
