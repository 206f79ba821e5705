package storetest

import (
	"context"
	"slices"
	"testing"

	"healthcode"
)

// ReviewSweep checks what the re-evaluation after a rule-set publication
// walks: the people with evidence, in order and a page at a time, and the
// sweep's progress, one at a time.
func ReviewSweep(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	var withEvidence []string
	for i, id := range []string{"410102199001011234", "410102199001011235", "410102199001011236", "410102199001011237"} {
		p := MustPerson(t, s, "张小明", id)
		if i == 2 {
			continue // no evidence
		}
		withEvidence = append(withEvidence, p.Pseudonym)
		// Two pieces each: a person is named once.
		update(t, s, func(tx healthcode.Tx) error {
			_, err := tx.InsertEvidence(ctx, []*healthcode.Evidence{
				{Kind: healthcode.NucleicAcidTest, Subject: p.Pseudonym, Submitter: "lab", SubmitterName: "lab", SubmitterRole: healthcode.RoleLab,
					ExternalID: id + "-1", ObservedAt: t0, RecordedAt: t0, Result: "negative"},
				{Kind: healthcode.NucleicAcidTest, Subject: p.Pseudonym, Submitter: "lab", SubmitterName: "lab", SubmitterRole: healthcode.RoleLab,
					ExternalID: id + "-2", ObservedAt: t0, RecordedAt: t0, Result: "negative"},
			})
			return err
		})
	}
	slices.Sort(withEvidence)
	view(t, s, func(tx healthcode.ReadTx) error {
		var got []string
		for after := ""; ; {
			page, err := tx.EvidenceSubjects(ctx, after, 2)
			if err != nil {
				return err
			}
			got = append(got, page...)
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1]
		}
		if !slices.Equal(got, withEvidence) {
			t.Errorf("EvidenceSubjects pages = %v, want %v", got, withEvidence)
		}
		v, a, err := tx.ReviewSweep(ctx)
		if err != nil || v != "" || a != "" {
			t.Errorf("ReviewSweep of a new store = %q, %q, %v; want none", v, a, err)
		}
		return nil
	})
	for _, step := range []struct{ version, after string }{{"v1", ""}, {"v1", withEvidence[0]}, {"v2", ""}} {
		update(t, s, func(tx healthcode.Tx) error { return tx.SetReviewSweep(ctx, step.version, step.after) })
		view(t, s, func(tx healthcode.ReadTx) error {
			v, a, err := tx.ReviewSweep(ctx)
			if err != nil || v != step.version || a != step.after {
				t.Errorf("ReviewSweep after setting %+v = %q, %q, %v", step, v, a, err)
			}
			return nil
		})
	}
	update(t, s, func(tx healthcode.Tx) error { return tx.SetReviewSweep(ctx, "", "") })
	view(t, s, func(tx healthcode.ReadTx) error {
		v, a, err := tx.ReviewSweep(ctx)
		if err != nil || v != "" || a != "" {
			t.Errorf("ReviewSweep after its end = %q, %q, %v; want none", v, a, err)
		}
		return nil
	})
}
