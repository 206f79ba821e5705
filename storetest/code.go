package storetest

import (
	"context"
	"testing"
	"time"

	"healthcode"

	"github.com/google/go-cmp/cmp"
)

// CodeRecords checks ReadTx.CodeRecord, the one read of a citizen's first
// code of the day, against what it stands for (Person, Decision, Decisions,
// PendingOverrides and the cited part of Evidence read one by one), and
// against expectations written out here: someone with nothing decided, with
// one decision, with several, with overrides pending (one about someone
// else, one lapsed, one already approved) and a decision that cites another
// person's evidence; and QuickCodeRecord, where a backend has it, answers
// alone, and the same, those with nothing else on record (nothing decided,
// or one decision that cites no evidence).
func CodeRecords(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	day := 24 * time.Hour
	now := t0.Add(2 * day)
	none := MustPerson(t, s, "甲", "410102199001011101")
	one := MustPerson(t, s, "乙", "410102199001011102")
	many := MustPerson(t, s, "丙", "410102199001011103")
	other := MustPerson(t, s, "丁", "410102199001011104")
	plain := MustPerson(t, s, "戊", "410102199001011105")
	op := healthcode.Principal{ID: "op-1", Name: "运营 王五", Role: healthcode.RoleOperator, Unit: "u-ops"}
	ap := healthcode.Principal{ID: "ap-1", Name: "审批 赵六", Role: healthcode.RoleApprover, Unit: "u-appr"}
	ev := func(subject, id string, at time.Time, result string) *healthcode.Evidence {
		return &healthcode.Evidence{Kind: healthcode.NucleicAcidTest, Subject: subject, Submitter: "lab-1", SubmitterName: "检测所 一",
			SubmitterRole: healthcode.RoleLab, ExternalID: id, ObservedAt: at, RecordedAt: at.Add(time.Hour), Result: result}
	}
	// one: three results, the decision cites the later two (given newest
	// first); many: one result, and a decision that cites it and other's.
	e1, e2, e3 := ev(one.Pseudonym, "A1", t0, healthcode.Negative), ev(one.Pseudonym, "A2", t0.Add(2*time.Hour), healthcode.Positive),
		ev(one.Pseudonym, "A3", t0.Add(time.Hour), healthcode.Positive)
	m1, o1 := ev(many.Pseudonym, "B1", t0, healthcode.Positive), ev(other.Pseudonym, "C1", t0, healthcode.Positive)
	lifts := t0.Add(7 * day)
	var d1, m2, m3, p1 healthcode.Decision
	var pend, approved, elsewhere *healthcode.Override
	update(t, s, func(tx healthcode.Tx) error {
		if _, err := tx.InsertEvidence(ctx, []*healthcode.Evidence{e1, e2, e3, m1, o1}); err != nil {
			return err
		}
		d1 = healthcode.Decision{Subject: one.Pseudonym, Colour: healthcode.Red, Reason: "positive", RuleID: "r1", RuleSetVersion: "v1",
			RuleSetHash: "h1", EvidenceIDs: []int64{e2.ID, e3.ID}, EvidenceDigest: "dd", LiftsAt: &lifts, ReviewAt: t0.Add(day),
			DecidedAt: t0.Add(3 * time.Hour), LogIndex: 11, Actor: "rules:v1"}
		m2 = healthcode.Decision{Subject: many.Pseudonym, Colour: healthcode.Red, Reason: "positive", RuleID: "r1", RuleSetVersion: "v1",
			RuleSetHash: "h1", EvidenceIDs: []int64{m1.ID}, EvidenceDigest: "d2", ReviewAt: t0.Add(day), DecidedAt: t0.Add(time.Hour),
			LogIndex: 12, Actor: "rules:v1"}
		m3 = m2
		m3.Colour, m3.Reason, m3.EvidenceIDs, m3.DecidedAt, m3.LogIndex = healthcode.Yellow, "contact", []int64{o1.ID, m1.ID}, t0.Add(2*time.Hour), 13
		p1 = healthcode.Decision{Subject: plain.Pseudonym, Colour: healthcode.Green, Reason: "default", RuleID: "r9", RuleSetVersion: "v1",
			RuleSetHash: "h1", EvidenceDigest: "d0", ReviewAt: t0.Add(day), DecidedAt: t0.Add(time.Hour), LogIndex: 14, Actor: "rules:v1"}
		for _, d := range []*healthcode.Decision{&d1, &m2, &m3, &p1} {
			if err := tx.PutDecision(ctx, d); err != nil {
				return err
			}
		}
		mk := func(subjects []string, expires time.Time) (*healthcode.Override, error) {
			o := &healthcode.Override{Subjects: subjects, Colour: healthcode.Red, Reason: "lab_result_delayed", Basis: []int64{m1.ID},
				Expires: expires, Status: healthcode.OverridePending, Requester: op, CreatedAt: t0.Add(day)}
			return o, tx.CreateOverride(ctx, o)
		}
		var err error
		if pend, err = mk([]string{many.Pseudonym, other.Pseudonym}, now.Add(day)); err != nil {
			return err
		}
		if _, err = mk([]string{many.Pseudonym}, now); err != nil { // expires at now: no longer pending
			return err
		}
		if approved, err = mk([]string{many.Pseudonym}, now.Add(day)); err != nil {
			return err
		}
		approved.Status, approved.Approver, approved.ApprovedAt = healthcode.OverrideActive, &ap, t0.Add(day+time.Hour)
		if err := tx.UpdateOverride(ctx, approved); err != nil {
			return err
		}
		elsewhere, err = mk([]string{other.Pseudonym}, now.Add(day))
		return err
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		_, err := tx.CodeRecord(ctx, "nobody", now)
		wantCode(t, err, healthcode.ENOTFOUND)
		if qs, ok := s.(healthcode.QuickCodeStore); ok {
			_, _, err := qs.QuickCodeRecord(ctx, "nobody", now)
			wantCode(t, err, healthcode.ENOTFOUND)
		}

		// Written out by hand.
		want := map[string]struct {
			decision *healthcode.Decision
			history  []healthcode.Decision
			pending  []int64
			evidence []int64
			// quick: QuickCodeRecord answers it in its one statement.
			quick bool
		}{
			none.Pseudonym:  {quick: true},
			plain.Pseudonym: {&p1, []healthcode.Decision{p1}, nil, nil, true},
			one.Pseudonym:   {&d1, []healthcode.Decision{d1}, nil, []int64{e3.ID, e2.ID}, false},
			many.Pseudonym:  {&m3, []healthcode.Decision{m2, m3}, []int64{pend.ID}, []int64{m1.ID}, false},
			other.Pseudonym: {nil, nil, []int64{elsewhere.ID, pend.ID}, nil, false},
		}
		for _, p := range []*healthcode.Person{none, plain, one, many, other} {
			w := want[p.Pseudonym]
			got, err := tx.CodeRecord(ctx, p.Pseudonym, now)
			if err != nil {
				t.Errorf("CodeRecord(%s): %v", p.MaskedName, err)
				continue
			}
			if got.Person == nil || got.Person.Pseudonym != p.Pseudonym || got.Person.MaskedName != p.MaskedName {
				t.Errorf("CodeRecord(%s).Person = %+v", p.MaskedName, got.Person)
			}
			if diff := cmp.Diff(w.decision, got.Decision); diff != "" {
				t.Errorf("CodeRecord(%s).Decision (-want +got):\n%s", p.MaskedName, diff)
			}
			if diff := cmp.Diff(w.history, got.History); diff != "" {
				t.Errorf("CodeRecord(%s).History (-want +got):\n%s", p.MaskedName, diff)
			}
			var pending, evidence []int64
			for _, o := range got.Pending {
				pending = append(pending, o.ID)
			}
			for _, e := range got.Evidence {
				evidence = append(evidence, e.ID)
			}
			if diff := cmp.Diff(w.pending, pending); diff != "" {
				t.Errorf("CodeRecord(%s).Pending ids (-want +got):\n%s", p.MaskedName, diff)
			}
			if diff := cmp.Diff(w.evidence, evidence); diff != "" {
				t.Errorf("CodeRecord(%s).Evidence ids (-want +got):\n%s", p.MaskedName, diff)
			}

			// The same as the one-by-one reads.
			ref := &healthcode.CodeRecord{}
			if ref.Person, err = tx.Person(ctx, p.Pseudonym); err != nil {
				return err
			}
			if ref.Decision, err = tx.Decision(ctx, p.Pseudonym); healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
				ref.Decision = nil
			} else if err != nil {
				return err
			}
			if ref.History, err = tx.Decisions(ctx, p.Pseudonym); err != nil {
				return err
			}
			if ref.Pending, err = tx.PendingOverrides(ctx, p.Pseudonym, now); err != nil {
				return err
			}
			all, err := tx.Evidence(ctx, p.Pseudonym)
			if err != nil {
				return err
			}
			if ref.Decision != nil {
				for _, e := range all {
					for _, id := range ref.Decision.EvidenceIDs {
						if e.ID == id {
							ref.Evidence = append(ref.Evidence, e)
							break
						}
					}
				}
			}
			if diff := cmp.Diff(ref, got); diff != "" {
				t.Errorf("CodeRecord(%s) differs from the reads one by one (-want +got):\n%s", p.MaskedName, diff)
			}

			// Outside a transaction, when the one statement holds it all.
			qs, ok := s.(healthcode.QuickCodeStore)
			if !ok {
				continue
			}
			quick, complete, err := qs.QuickCodeRecord(ctx, p.Pseudonym, now)
			if err != nil {
				t.Errorf("QuickCodeRecord(%s): %v", p.MaskedName, err)
				continue
			}
			if complete != w.quick {
				t.Errorf("QuickCodeRecord(%s) complete = %v, want %v", p.MaskedName, complete, w.quick)
			}
			if complete {
				if diff := cmp.Diff(ref, quick); diff != "" {
					t.Errorf("QuickCodeRecord(%s) differs from the reads one by one (-want +got):\n%s", p.MaskedName, diff)
				}
			} else if quick != nil {
				t.Errorf("QuickCodeRecord(%s) = %+v with complete false, want nil", p.MaskedName, quick)
			}
		}
		return nil
	})
}
