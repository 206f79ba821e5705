package engine_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcode"
	"healthcode/engine"
	"healthcode/sqlite"
	"healthcode/tlog"
)

// leaves decodes the log from index from on.
func (e *env) leaves(from int64) []*tlog.Leaf {
	e.t.Helper()
	var out []*tlog.Leaf
	e.view(func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(e.ctx)
		if err != nil {
			return err
		}
		for i := from; i < size; i++ {
			b, err := tx.LogLeaf(e.ctx, i)
			if err != nil {
				return err
			}
			l, err := tlog.DecodeLeaf(b)
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	return out
}

// evidenceLeaves maps the index of each evidence leaf whose opening is kept
// to the evidence id its (committed) ref names.
func (e *env) evidenceLeaves() map[int64]int64 {
	e.t.Helper()
	out := map[int64]int64{}
	e.view(func(tx healthcode.ReadTx) error {
		for i, l := range e.leaves(0) {
			if l.Entry.Type != healthcode.LogEvidence {
				continue
			}
			subject, opening, err := tx.LogOpening(e.ctx, int64(i))
			if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			o, err := l.Open(subject, opening)
			if err != nil {
				e.t.Errorf("leaf %d: %v", i, err)
				continue
			}
			id, _ := strconv.ParseInt(strings.TrimPrefix(o.Ref, "evidence/"), 10, 64)
			out[int64(i)] = id
		}
		return nil
	})
	return out
}

// verifyTree checks the whole stored tree against its leaves.
func (e *env) verifyTree() {
	e.t.Helper()
	e.view(func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(e.ctx)
		if err != nil {
			return err
		}
		return tlog.VerifyTree(size, func(i int64) ([]byte, error) { return tx.LogLeaf(e.ctx, i) }, tlog.StoreHashReader(e.ctx, tx), nil)
	})
	res, err := tlog.AuditStore(e.ctx, e.db)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		e.t.Errorf("AuditStore: %v", err)
	}
}

func TestPurgeDeletesExpiredDataAndReevaluates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	vaccination := healthcode.Submission{IDNumber: e.ids[3], Evidence: healthcode.Evidence{Kind: healthcode.Vaccination,
		ExternalID: "V-1", ObservedAt: t0.Add(-time.Hour), Dose: 1}}
	e.submitOK(lab, naTest(0, e.ids[0], "S-0", t0.Add(-time.Hour), healthcode.Positive),
		naTest(1, e.ids[1], "S-1", t0.Add(-time.Hour), healthcode.Negative))
	e.submitOK(epi, closeContact(0, e.ids[2], "CC-2", t0.Add(-time.Hour)))
	e.submitOK(clinic, vaccination)
	// A test young enough to stay.
	e.clock.Advance(10 * healthcode.Day)
	e.submitOK(lab, naTest(0, e.ids[1], "S-1b", e.clock.Now().Add(-time.Hour), healthcode.Negative))
	if d := e.decision(e.subj[0]); d == nil || d.Colour != healthcode.Red {
		t.Fatalf("before the purge: %+v, want red", d)
	}
	var deleted []int64
	for _, i := range []int{0, 2} {
		for _, ev := range e.evidence(e.subj[i]) {
			deleted = append(deleted, ev.ID)
		}
	}
	deleted = append(deleted, e.evidence(e.subj[1])[0].ID)
	// The contact's case's patient: the positive their diagnosis rests on
	// expires too (the diagnosis is kept with its case).
	patient := e.eng.Keys.Pseudonymize(region, e.patient.IDNumber)
	for _, ev := range e.evidence(patient) {
		if ev.Kind == healthcode.NucleicAcidTest {
			deleted = append(deleted, ev.ID)
		}
	}
	kept := map[string]int{e.subj[1]: 1, e.subj[3]: 1}

	leafOf := e.evidenceLeaves()
	e.clock.Set(t0.Add(29 * healthcode.Day))
	before := e.logSize()
	rep, err := e.eng.Purge(e.ctx, healthcode.DefaultRetention())
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Counts["evidence/nucleic_acid_test"]; got != 3 {
		t.Errorf("deleted %d nucleic-acid tests, want 3", got)
	}
	if got := rep.Counts["evidence/close_contact"]; got != 1 {
		t.Errorf("deleted %d close contacts, want 1", got)
	}
	if got := rep.Counts["log_openings"]; got != 4 {
		t.Errorf("deleted %d log openings, want 4", got)
	}
	wantSubjects := []string{e.subj[0], e.subj[1], e.subj[2], patient}
	slices.Sort(wantSubjects)
	if !slices.Equal(rep.Subjects, wantSubjects) {
		t.Errorf("subjects = %v, want %v", rep.Subjects, wantSubjects)
	}
	// No expired row remains; the young ones do.
	for i, s := range e.subj {
		evs := e.evidence(s)
		if len(evs) != kept[s] {
			t.Errorf("person %d keeps %d pieces of evidence, want %d", i, len(evs), kept[s])
		}
		for _, ev := range evs {
			if !ev.ObservedAt.After(e.clock.Now().Add(-28*healthcode.Day)) && ev.Kind != healthcode.Vaccination {
				t.Errorf("expired evidence %d (%s, %s) remains", ev.ID, ev.Kind, ev.ObservedAt)
			}
		}
	}
	// Everyone concerned is re-evaluated on what remains: the red code
	// resting on a deleted test is green now, by a new logged decision.
	d := e.decision(e.subj[0])
	if d == nil || d.Colour != healthcode.Green || len(d.EvidenceIDs) != 0 || !d.DecidedAt.Equal(e.clock.Now()) {
		t.Errorf("after the purge: %+v, want a new green decision resting on nothing", d)
	}
	for _, s := range wantSubjects {
		if d := e.decision(s); d != nil {
			for _, id := range d.EvidenceIDs {
				if slices.Contains(deleted, id) {
					t.Errorf("%s's current decision rests on deleted evidence %d", s, id)
				}
			}
		}
	}
	calls := e.onChangeCalls()
	if last := calls[len(calls)-1]; !slices.Contains(last, e.subj[0]) {
		t.Errorf("OnChange after the purge = %v, want %s in it", last, e.subj[0])
	}
	// The purge is logged first, with its counts, naming no one; the new
	// decisions follow it.
	ls := e.leaves(before)
	if len(ls) < 2 {
		t.Fatalf("the purge appended %d leaves", len(ls))
	}
	p := ls[0].Entry
	if p.Type != healthcode.LogPurge || p.ActorRole != healthcode.RoleSystem || p.ActorName != engine.RetentionJob || ls[0].Commitment != nil ||
		!strings.HasPrefix(p.Ref, "purge ") || !strings.Contains(p.Ref, "evidence/nucleic_acid_test=3") ||
		!strings.Contains(p.Ref, "evidence/close_contact=1") || !strings.Contains(p.Ref, "reevaluated=4") {
		t.Errorf("purge leaf = %+v (commitment %x)", p, ls[0].Commitment)
	}
	for _, l := range ls[1:] {
		if l.Entry.Type != healthcode.LogDecision {
			t.Errorf("after the purge leaf: a %s leaf", l.Entry.Type)
		}
	}
	if d != nil && d.LogIndex <= before {
		t.Errorf("the new decision is at log index %d, before the purge's %d", d.LogIndex, before)
	}
	// The leaves of deleted evidence stay (the tree is whole) but no longer
	// open to anyone.
	e.view(func(tx healthcode.ReadTx) error {
		for i, id := range leafOf {
			_, _, err := tx.LogOpening(e.ctx, i)
			if slices.Contains(deleted, id) && healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
				t.Errorf("leaf %d of deleted evidence %d still opens (%v)", i, id, err)
			} else if !slices.Contains(deleted, id) && err != nil {
				t.Errorf("leaf %d of kept evidence %d: %v", i, id, err)
			}
		}
		return nil
	})
	e.verifyTree()

	// Nothing more to do: the run is logged all the same.
	size := e.logSize()
	rep, err = e.eng.Purge(e.ctx, healthcode.DefaultRetention())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Subjects) != 0 || e.logSize() != size+1 {
		t.Errorf("second purge: subjects %v, log grew by %d", rep.Subjects, e.logSize()-size)
	}
	if ls := e.leaves(size); len(ls) != 1 || ls[0].Entry.Ref != "purge (nothing to delete)" {
		t.Errorf("second purge leaf: %+v", ls)
	}
}

func TestPurgeLogFailureChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.submitOK(lab, naTest(0, e.ids[0], "S-0", t0.Add(-time.Hour), healthcode.Positive))
	e.clock.Advance(40 * healthcode.Day)
	size := e.logSize()
	for _, after := range []bool{false, true} {
		e.log.failNext(after)
		if _, err := e.eng.Purge(e.ctx, healthcode.DefaultRetention()); !errors.Is(err, errLogDown) {
			t.Fatalf("Purge with the log down (after=%v) = %v, want %v", after, err, errLogDown)
		}
		if n := len(e.evidence(e.subj[0])); n != 1 || e.logSize() != size {
			t.Errorf("after a failed purge: %d pieces of evidence, log size %d (was %d)", n, e.logSize(), size)
		}
		if d := e.decision(e.subj[0]); d == nil || d.Colour != healthcode.Red {
			t.Errorf("after a failed purge the decision changed: %+v", d)
		}
	}
}

func TestPurgeRetentionIsConfigurable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.submitOK(lab, naTest(0, e.ids[0], "S-0", t0.Add(-time.Hour), healthcode.Negative))
	e.clock.Advance(5 * healthcode.Day)
	r := healthcode.DefaultRetention()
	if rep, err := e.eng.Purge(e.ctx, r); err != nil || rep.Counts["evidence/nucleic_acid_test"] != 0 {
		t.Fatalf("purge at 5 days with 28 days' retention: %+v, %v", rep, err)
	}
	r.Evidence[healthcode.NucleicAcidTest] = 3 * healthcode.Day
	if rep, err := e.eng.Purge(e.ctx, r); err != nil || rep.Counts["evidence/nucleic_acid_test"] != 1 {
		t.Fatalf("purge at 5 days with 3 days' retention: %+v, %v", rep, err)
	}
	if n := len(e.evidence(e.subj[0])); n != 0 {
		t.Errorf("%d tests remain", n)
	}
}

func TestSunset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{people: 50})
	for i := range 20 {
		e.submitOK(lab, naTest(i, e.ids[i], "S-"+strconv.Itoa(i), t0.Add(-time.Hour), []string{healthcode.Positive, healthcode.Negative}[i%2]))
	}
	citizen, err := e.eng.CreateToken(e.ctx, &healthcode.Principal{Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[0]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Authenticate(e.ctx, citizen); err != nil { // now cached
		t.Fatal(err)
	}
	caseID := e.openCaseOf(0, t0.Add(-time.Hour))
	if _, err := e.unmask(epi, e.subj[0], caseID); err != nil {
		t.Fatal(err)
	}
	// Only an admin ends the emergency; anyone else changes nothing.
	size := e.logSize()
	for _, p := range []*healthcode.Principal{nil, lab, epi, clinic, system,
		{ID: "op", Name: "op", Role: healthcode.RoleOperator}, {ID: "au", Name: "au", Role: healthcode.RoleAuditor}} {
		_, err := e.eng.Sunset(e.ctx, p)
		wantCode(t, "Sunset by a non-admin", err, healthcode.EFORBIDDEN, "auth.role")
	}
	if e.logSize() != size || e.decision(e.subj[0]) == nil {
		t.Fatal("a refused sunset changed something")
	}

	rep, err := e.eng.Sunset(e.ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{"people": 51, "person_keys": 51, "evidence": 22, "citizen_tokens": 1, "access_records": 3,
		"cases": 1, "unmask_requests": 1} {
		if rep.Counts[key] != want {
			t.Errorf("sunset counts[%s] = %d, want %d", key, rep.Counts[key], want)
		}
	}
	if rep.Counts["decisions"] == 0 || rep.Counts["log_openings"] == 0 {
		t.Errorf("sunset counts = %v: no decisions or openings deleted", rep.Counts)
	}
	ls := e.leaves(size)
	if len(ls) != 1 {
		t.Fatalf("sunset appended %d leaves, want 1", len(ls))
	}
	if s := ls[0].Entry; s.Type != healthcode.LogPurge || s.Reason != "sunset" || s.ActorName != healthcode.ActorLabel(admin) ||
		s.ActorRole != healthcode.RoleAdmin || ls[0].Commitment != nil || !strings.Contains(s.Ref, "people=51") {
		t.Errorf("sunset leaf = %+v", s)
	}
	e.verifyTree()
	e.view(func(tx healthcode.ReadTx) error {
		n, err := tx.PeopleCount(e.ctx)
		if err != nil || n != 0 {
			t.Errorf("PeopleCount after sunset = %d, %v", n, err)
		}
		for i := range e.logSize() {
			if _, _, err := tx.LogOpening(e.ctx, i); healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
				t.Errorf("leaf %d still opens after sunset (%v)", i, err)
			}
		}
		return nil
	})
	_, err = e.eng.Authenticate(e.ctx, citizen)
	wantCode(t, "a citizen's token after sunset", err, healthcode.EUNAUTHORIZED, "")
	_, err = e.unmask(epi, e.subj[0], caseID)
	wantCode(t, "unmask after sunset", err, healthcode.ENOTFOUND, "")
	// The store was compacted: not one pseudonym is left in its file.
	sq, ok := e.db.(*sqlite.DB)
	if !ok {
		return // a PostgreSQL database has no file of its own to read
	}
	for _, path := range []string{sq.Path(), sq.Path() + "-wal"} {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		for i, s := range e.subj {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s still holds the pseudonym of person %d", path, i)
			}
		}
	}
	// The engine carries on: new people, new evidence.
	if _, err := e.eng.RegisterPerson(e.ctx, healthcode.PersonalData{Name: "王五", IDNumber: e.ids[0]}); err != nil {
		t.Fatalf("registering after sunset: %v", err)
	}
	e.submitOK(lab, naTest(0, e.ids[0], "S-after", e.clock.Now().Add(-time.Minute), healthcode.Negative))
	e.verifyTree()
}
