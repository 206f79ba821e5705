// Package storetest is the conformance suite every healthcode.Store backend
// must pass: SQLite today, PostgreSQL next. It speaks only through the domain
// interfaces, so a backend is free to be as native as it likes underneath.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"healthcode"

	"github.com/google/go-cmp/cmp"
)

// Opener returns a fresh, empty, migrated store for one test.
type Opener func(t *testing.T) healthcode.Store

var t0 = time.Date(2022, 6, 14, 8, 0, 0, 0, time.UTC)

var keys = &healthcode.Keys{Pseudonym: bytes.Repeat([]byte{1}, 32), IDLookup: bytes.Repeat([]byte{2}, 32), Wrap: bytes.Repeat([]byte{3}, 32)}

// Run runs the whole suite against the backend open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, healthcode.Store)
	}{
		{"People", testPeople},
		{"Evidence", testEvidence},
		{"TestingDuty", testTestingDuty},
		{"Decisions", testDecisions},
		{"CodeRecords", CodeRecords},
		{"RollbackLeavesNothing", testRollback},
		{"Tokens", testTokens},
		{"Registry", testRegistry},
		{"Sessions", testSessions},
		{"AuthEpoch", AuthEpoch},
		{"RuleSets", testRuleSets},
		{"LogLeaves", testLogLeaves},
		{"Checkpoints", testCheckpoints},
		{"CheckIns", CheckIns},
		{"Slots", Slots},
		{"Cases", Cases},
		{"Purge", Purge},
		{"Sunset", Sunset},
		{"Figures", Figures},
		{"Collections", Collections},
		{"TubesOf", TubesOf},
		{"Dashboard", Dashboard},
		{"SubmitReplays", SubmitReplays},
		{"Oversight", Oversight},
		{"RuleSetProposals", RuleSetProposals},
		{"ReviewSweep", ReviewSweep},
		{"BulkLoad", func(t *testing.T, s healthcode.Store) { BulkLoad(t, s, open) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

func update(t *testing.T, s healthcode.Store, fn func(healthcode.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s healthcode.Store, fn func(healthcode.ReadTx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := healthcode.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// MustPerson creates a person with the given ID number in s.
func MustPerson(t *testing.T, s healthcode.Store, name, id string) *healthcode.Person {
	t.Helper()
	p, err := keys.NewPerson("410100", healthcode.PersonalData{Name: name, IDNumber: id, Phone: "13800000000"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx healthcode.Tx) error { return tx.CreatePerson(context.Background(), p) })
	return p
}

func testPeople(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	p := MustPerson(t, s, "张小明", "410102199001011234")
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Person(ctx, p.Pseudonym)
		if err != nil {
			return err
		}
		if got.MaskedName != "张*明" || got.Region != "410100" || !got.CreatedAt.Equal(t0) {
			t.Errorf("person = %+v", got)
		}
		dk, err := keys.UnwrapKey(got.WrappedKey, got.Pseudonym)
		if err != nil {
			t.Fatalf("unwrap: %v", err)
		}
		got.DataKey = dk
		if err := got.Unseal(); err != nil {
			t.Fatalf("unseal: %v", err)
		}
		if got.Personal.Name != "张小明" {
			t.Errorf("unsealed name = %q", got.Personal.Name)
		}
		byID, err := tx.PersonByIDHash(ctx, keys.IDHash("410102199001011234"))
		if err != nil || byID.Pseudonym != p.Pseudonym {
			t.Errorf("PersonByIDHash = %v, %v", byID, err)
		}
		_, err = tx.Person(ctx, "nobody")
		wantCode(t, err, healthcode.ENOTFOUND)
		_, err = tx.PersonByIDHash(ctx, keys.IDHash("x"))
		wantCode(t, err, healthcode.ENOTFOUND)
		n, err := tx.PeopleCount(ctx)
		if err != nil || n != 1 {
			t.Errorf("PeopleCount = %d, %v", n, err)
		}
		ps, err := tx.Pseudonyms(ctx, "", 10)
		if err != nil || len(ps) != 1 || ps[0] != p.Pseudonym {
			t.Errorf("Pseudonyms = %v, %v", ps, err)
		}
		return nil
	})
	err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.CreatePerson(ctx, p) })
	wantCode(t, err, healthcode.ECONFLICT)
}

// testTestingDuty: a testing duty keeps its end and interval, which its
// digest covers.
func testTestingDuty(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	p := MustPerson(t, s, "王五", "410102199001011260")
	e := healthcode.Evidence{Kind: healthcode.TestingDuty, Subject: p.Pseudonym, Submitter: "epi-1", SubmitterName: "流调员",
		SubmitterRole: healthcode.RoleEpidemiologist, ExternalID: "D1", ObservedAt: t0, RecordedAt: t0.Add(time.Hour),
		Area: "410105", CaseRef: "round-1", Until: t0.Add(10 * 24 * time.Hour), Every: 72 * time.Hour}
	update(t, s, func(tx healthcode.Tx) error {
		_, err := tx.InsertEvidence(ctx, []*healthcode.Evidence{&e})
		return err
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.EvidenceByExternalID(ctx, "epi-1", "D1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&e, got); diff != "" {
			t.Errorf("testing duty (-want +got):\n%s", diff)
		}
		if got.Digest() != e.Digest() {
			t.Error("the stored duty's digest differs from the submitted one's")
		}
		return nil
	})
}

func testEvidence(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	p := MustPerson(t, s, "李四", "410102199001011235")
	e1 := healthcode.Evidence{Kind: healthcode.NucleicAcidTest, Subject: p.Pseudonym, Submitter: "lab-1", SubmitterName: "第一检测所",
		SubmitterRole: healthcode.RoleLab, ExternalID: "S1", ObservedAt: t0.Add(time.Hour), RecordedAt: t0.Add(2 * time.Hour),
		Result: healthcode.Positive, Pooled: true, PoolID: "T9"}
	e2 := e1
	e2.ExternalID, e2.ObservedAt, e2.Pooled, e2.PoolID, e2.Result = "S2", t0, false, "", healthcode.Negative
	update(t, s, func(tx healthcode.Tx) error {
		ins, err := tx.InsertEvidence(ctx, []*healthcode.Evidence{&e1, &e2})
		if err == nil && (!ins[0] || !ins[1]) {
			t.Errorf("inserted = %v", ins)
		}
		return err
	})
	if e1.ID == 0 || e2.ID == 0 || e1.ID == e2.ID {
		t.Fatalf("ids not assigned: %d %d", e1.ID, e2.ID)
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Evidence(ctx, p.Pseudonym)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]healthcode.Evidence{e2, e1}, got); diff != "" {
			t.Errorf("Evidence (-want +got):\n%s", diff)
		}
		one, err := tx.EvidenceByExternalID(ctx, "lab-1", "S1")
		if err != nil || one.ID != e1.ID {
			t.Errorf("EvidenceByExternalID = %v, %v", one, err)
		}
		_, err = tx.EvidenceByExternalID(ctx, "lab-2", "S1")
		wantCode(t, err, healthcode.ENOTFOUND)
		rows, err := tx.EvidenceRows(ctx, 0, 10)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]healthcode.Evidence{e1, e2}, rows); diff != "" {
			t.Errorf("EvidenceRows (-want +got):\n%s", diff)
		}
		rest, err := tx.EvidenceRows(ctx, e1.ID, 10)
		if err != nil || len(rest) != 1 || rest[0].ID != e2.ID {
			t.Errorf("EvidenceRows after %d = %v, %v", e1.ID, rest, err)
		}
		if first, err := tx.EvidenceRows(ctx, 0, 1); err != nil || len(first) != 1 || first[0].ID != e1.ID {
			t.Errorf("EvidenceRows limit 1 = %v, %v", first, err)
		}
		return nil
	})
	// A batch larger than any one statement, with a repeat of an earlier
	// sample and a repeat within the batch: those two are not written.
	var batch []*healthcode.Evidence
	for i := 0; i < 150; i++ {
		e := e2
		e.ExternalID = fmt.Sprintf("B%d", i)
		batch = append(batch, &e)
	}
	dup, dupInBatch := e1, *batch[3]
	batch = append(batch[:100], append([]*healthcode.Evidence{&dup, &dupInBatch}, batch[100:]...)...)
	update(t, s, func(tx healthcode.Tx) error {
		ins, err := tx.InsertEvidence(ctx, batch)
		if err != nil {
			return err
		}
		for i, ok := range ins {
			if want := i != 100 && i != 101; ok != want {
				t.Errorf("inserted[%d] = %v, want %v", i, ok, want)
			}
		}
		return nil
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Evidence(ctx, p.Pseudonym)
		if err != nil || len(got) != 152 {
			t.Errorf("after the batch: %d pieces of evidence, %v; want 152", len(got), err)
		}
		ids := map[int64]bool{}
		for _, e := range got {
			ids[e.ID] = true
		}
		for i, e := range batch {
			if i != 100 && i != 101 && !ids[e.ID] {
				t.Errorf("batch[%d] has id %d, which the store does not hold", i, e.ID)
			}
		}
		return nil
	})
	orphan := e1
	orphan.ExternalID, orphan.Subject = "S3", "nobody"
	err := s.Update(ctx, func(tx healthcode.Tx) error {
		_, err := tx.InsertEvidence(ctx, []*healthcode.Evidence{&orphan})
		return err
	})
	wantCode(t, err, healthcode.ENOTFOUND)
	q := MustPerson(t, s, "周九", "410102199001011240")
	view(t, s, func(tx healthcode.ReadTx) error {
		m, err := tx.EvidenceOf(ctx, []string{p.Pseudonym, q.Pseudonym, "nobody"})
		if err != nil {
			return err
		}
		if len(m) != 1 || len(m[p.Pseudonym]) != 152 {
			t.Errorf("EvidenceOf: %d subjects, %d for p", len(m), len(m[p.Pseudonym]))
		}
		ps, err := tx.PseudonymsByIDHash(ctx, [][]byte{keys.IDHash("410102199001011235"), keys.IDHash("nobody")})
		if err != nil {
			return err
		}
		if diff := cmp.Diff(map[string]string{string(keys.IDHash("410102199001011235")): p.Pseudonym}, ps); diff != "" {
			t.Errorf("PseudonymsByIDHash (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testDecisions(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	p := MustPerson(t, s, "王五", "410102199001011236")
	q := MustPerson(t, s, "赵六", "410102199001011237")
	lifts := t0.Add(7 * 24 * time.Hour)
	d1 := healthcode.Decision{Subject: p.Pseudonym, Colour: healthcode.Red, Reason: "close_contact", RuleID: "r1",
		RuleSetVersion: "v1", RuleSetHash: "abc", EvidenceIDs: []int64{3, 4}, EvidenceDigest: "dd", LiftsAt: &lifts,
		ReviewAt: t0.Add(time.Hour), DecidedAt: t0, LogIndex: 7, Actor: "rules:v1"}
	d2 := d1
	d2.Colour, d2.Reason, d2.LiftsAt, d2.EvidenceIDs, d2.ReviewAt, d2.DecidedAt, d2.LogIndex = healthcode.Green, "clear", nil, nil, t0.Add(48*time.Hour), t0.Add(time.Hour), 9
	d3 := d1
	d3.Subject, d3.ReviewAt = q.Pseudonym, t0.Add(30*time.Minute)
	update(t, s, func(tx healthcode.Tx) error {
		for _, d := range []*healthcode.Decision{&d1, &d2, &d3} {
			if err := tx.PutDecision(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		cur, err := tx.Decision(ctx, p.Pseudonym)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&d2, cur); diff != "" {
			t.Errorf("Decision (-want +got):\n%s", diff)
		}
		hist, err := tx.Decisions(ctx, p.Pseudonym)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]healthcode.Decision{d1, d2}, hist); diff != "" {
			t.Errorf("Decisions (-want +got):\n%s", diff)
		}
		all, err := tx.DecisionRows(ctx, 0, 10)
		if err != nil {
			return err
		}
		if len(all) != 3 || all[0].ID != d1.ID || all[2].ID != d3.ID || d1.ID >= d2.ID {
			t.Errorf("DecisionRows = %d rows, ids %d %d %d", len(all), d1.ID, d2.ID, d3.ID)
		}
		rest, err := tx.DecisionRows(ctx, d1.ID, 10)
		if err != nil || len(rest) != 2 || rest[0].ID != d2.ID {
			t.Errorf("DecisionRows after %d = %v, %v", d1.ID, rest, err)
		}
		due, err := tx.DueForReview(ctx, t0.Add(2*time.Hour), 10)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{q.Pseudonym}, due); diff != "" {
			t.Errorf("DueForReview (-want +got):\n%s", diff)
		}
		counts, err := tx.ColourCounts(ctx)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(map[healthcode.Colour]int64{healthcode.Green: 1, healthcode.Red: 1}, counts); diff != "" {
			t.Errorf("ColourCounts (-want +got):\n%s", diff)
		}
		_, err = tx.Decision(ctx, "nobody")
		wantCode(t, err, healthcode.ENOTFOUND)
		curs, err := tx.DecisionsOf(ctx, []string{p.Pseudonym, q.Pseudonym, "nobody"})
		if err != nil {
			return err
		}
		if diff := cmp.Diff(map[string]*healthcode.Decision{p.Pseudonym: &d2, q.Pseudonym: &d3}, curs); diff != "" {
			t.Errorf("DecisionsOf (-want +got):\n%s", diff)
		}
		return nil
	})
	update(t, s, func(tx healthcode.Tx) error { return tx.SetReviewAt(ctx, "", t0) })
	view(t, s, func(tx healthcode.ReadTx) error {
		due, err := tx.DueForReview(ctx, t0, 10)
		if err != nil {
			return err
		}
		if len(due) != 2 {
			t.Errorf("after SetReviewAt(all), due = %v", due)
		}
		return nil
	})
}

func testRollback(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	p := MustPerson(t, s, "钱七", "410102199001011238")
	boom := errors.New("log append failed")
	err := s.Update(ctx, func(tx healthcode.Tx) error {
		e := healthcode.Evidence{Kind: healthcode.AntigenTest, Subject: p.Pseudonym, Submitter: "clinic-1", SubmitterName: "c",
			SubmitterRole: healthcode.RoleClinic, ExternalID: "A1", ObservedAt: t0, RecordedAt: t0, Result: healthcode.Positive}
		if _, err := tx.InsertEvidence(ctx, []*healthcode.Evidence{&e}); err != nil {
			return err
		}
		if err := tx.PutDecision(ctx, &healthcode.Decision{Subject: p.Pseudonym, Colour: healthcode.Yellow, Reason: "x", RuleID: "r",
			RuleSetVersion: "v", RuleSetHash: "h", ReviewAt: t0, DecidedAt: t0}); err != nil {
			return err
		}
		if err := tx.AppendLeaves(ctx, []*healthcode.LogRecord{{Index: 0, Leaf: []byte("leaf"), Hashes: [][32]byte{{1}}}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want %v", err, boom)
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		evs, err := tx.Evidence(ctx, p.Pseudonym)
		if err != nil || len(evs) != 0 {
			t.Errorf("evidence after rollback = %v, %v", evs, err)
		}
		_, err = tx.Decision(ctx, p.Pseudonym)
		wantCode(t, err, healthcode.ENOTFOUND)
		n, err := tx.LogSize(ctx)
		if err != nil || n != 0 {
			t.Errorf("log size after rollback = %d, %v", n, err)
		}
		return nil
	})
}

func testRuleSets(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	view(t, s, func(tx healthcode.ReadTx) error {
		_, err := tx.ActiveRuleSet(ctx)
		wantCode(t, err, healthcode.ENOTFOUND)
		return nil
	})
	r1 := &healthcode.RuleSetRecord{Version: "v1", Hash: "h1", Source: []byte("a"), PublishedAt: t0, PublishedBy: "admin"}
	r2 := &healthcode.RuleSetRecord{Version: "v2", Hash: "h2", Source: []byte("b"), PublishedAt: t0.Add(time.Hour), PublishedBy: "admin"}
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.PutRuleSet(ctx, r1, true); err != nil {
			return err
		}
		return tx.PutRuleSet(ctx, r2, true)
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.ActiveRuleSet(ctx)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(r2, got); diff != "" {
			t.Errorf("ActiveRuleSet (-want +got):\n%s", diff)
		}
		old, err := tx.RuleSet(ctx, "v1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(r1, old); diff != "" {
			t.Errorf("RuleSet(v1) (-want +got):\n%s", diff)
		}
		return nil
	})
	err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.PutRuleSet(ctx, r1, false) })
	wantCode(t, err, healthcode.ECONFLICT)
}

func testLogLeaves(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	// Leaf n stores as many hashes as adding it creates: 1 + trailing ones of n.
	counts := []int{1, 2, 1, 3, 1, 2, 1, 4}
	var next int64
	update(t, s, func(tx healthcode.Tx) error {
		var rs []*healthcode.LogRecord
		for n, c := range counts {
			hs := make([][32]byte, c)
			for i := range hs {
				hs[i] = [32]byte{byte(n), byte(i)}
			}
			r := &healthcode.LogRecord{Index: int64(n), Leaf: []byte{byte(n)}, Hashes: hs}
			if n%2 == 0 {
				r.Subject, r.Opening = fmt.Sprintf("p%d", n%4), []byte{byte(n), 1}
			}
			if n == 5 { // an opening of a leaf about no one (a note)
				r.Opening = []byte{5, 1}
			}
			rs = append(rs, r)
		}
		// Two calls in one transaction: the second follows on the first.
		if err := tx.AppendLeaves(ctx, rs[:3]); err != nil {
			return err
		}
		return tx.AppendLeaves(ctx, rs[3:])
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(ctx)
		if err != nil || size != int64(len(counts)) {
			t.Errorf("LogSize = %d, %v", size, err)
		}
		var idx []int64
		var want [][32]byte
		for n, c := range counts {
			for i := 0; i < c; i++ {
				idx = append(idx, next)
				want = append(want, [32]byte{byte(n), byte(i)})
				next++
			}
		}
		got, err := tx.LogHashes(ctx, idx)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("LogHashes (-want +got):\n%s", diff)
		}
		_, err = tx.LogHashes(ctx, []int64{next})
		wantCode(t, err, healthcode.ENOTFOUND)
		leaf, err := tx.LogLeaf(ctx, 3)
		if err != nil || !bytes.Equal(leaf, []byte{3}) {
			t.Errorf("LogLeaf(3) = %v, %v", leaf, err)
		}
		_, err = tx.LogLeaf(ctx, 99)
		wantCode(t, err, healthcode.ENOTFOUND)
		subj, opening, err := tx.LogOpening(ctx, 4)
		if err != nil || subj != "p0" || !bytes.Equal(opening, []byte{4, 1}) {
			t.Errorf("LogOpening(4) = %q, %v, %v", subj, opening, err)
		}
		subj, opening, err = tx.LogOpening(ctx, 5)
		if err != nil || subj != "" || !bytes.Equal(opening, []byte{5, 1}) {
			t.Errorf("LogOpening(5) = %q, %v, %v", subj, opening, err)
		}
		_, _, err = tx.LogOpening(ctx, 3)
		wantCode(t, err, healthcode.ENOTFOUND)
		for subject, want := range map[string][]int64{"p0": {4, 0}, "p2": {6, 2}, "p9": nil, "": nil} {
			got, err := tx.SubjectLeaves(ctx, subject, 0)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("SubjectLeaves(%q) = %v, %v; want %v", subject, got, err, want)
			}
		}
		// What an audit walks: records in ranges, what is missing nil.
		recs, err := tx.LogRecords(ctx, 4, 6)
		if err != nil {
			return err
		}
		var records []string
		for _, r := range recs {
			records = append(records, fmt.Sprintf("%d %v %d %q %v", r.Index, r.Leaf, len(r.Hashes), r.Subject, r.Opening))
		}
		wantRecords := []string{"4 [4] 1 \"p0\" [4 1]", "5 [5] 2 \"\" [5 1]", "6 [6] 1 \"p2\" [6 1]", "7 [7] 4 \"\" []", "8 [] 0 \"\" []", "9 [] 0 \"\" []"}
		if diff := cmp.Diff(wantRecords, records); diff != "" {
			t.Errorf("LogRecords(4, 6) (-want +got):\n%s", diff)
		}
		if recs[3].Hashes[3] != [32]byte{7, 3} || recs[3].Leaf == nil || recs[4].Leaf != nil || recs[4].Hashes != nil {
			t.Errorf("LogRecords(4, 6): %+v", recs)
		}
		if got, err := tx.SubjectLeaves(ctx, "p2", 1); err != nil || !slices.Equal(got, []int64{6}) {
			t.Errorf("SubjectLeaves(p2, 1) = %v, %v", got, err)
		}
		return nil
	})
	err := s.Update(ctx, func(tx healthcode.Tx) error {
		return tx.AppendLeaves(ctx, []*healthcode.LogRecord{{Index: 3, Leaf: []byte{9}, Hashes: [][32]byte{{9}}}})
	})
	wantCode(t, err, healthcode.ECONFLICT)
	err = s.Update(ctx, func(tx healthcode.Tx) error {
		return tx.AppendLeaves(ctx, []*healthcode.LogRecord{{Index: 20, Leaf: []byte{9}, Hashes: [][32]byte{{9}}}})
	})
	wantCode(t, err, healthcode.ECONFLICT)
}

func testCheckpoints(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	view(t, s, func(tx healthcode.ReadTx) error {
		_, err := tx.LatestCheckpoint(ctx)
		wantCode(t, err, healthcode.ENOTFOUND)
		return nil
	})
	c1 := &healthcode.Checkpoint{Size: 1, Root: [32]byte{1}, Note: []byte("one"), Time: t0}
	c2 := &healthcode.Checkpoint{Size: 5, Root: [32]byte{5}, Note: []byte("five"), Time: t0.Add(time.Minute)}
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.PutCheckpoint(ctx, c2); err != nil {
			return err
		}
		return tx.PutCheckpoint(ctx, c1)
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.LatestCheckpoint(ctx)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(c2, got); diff != "" {
			t.Errorf("LatestCheckpoint (-want +got):\n%s", diff)
		}
		return nil
	})
}
