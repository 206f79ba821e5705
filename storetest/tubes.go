package storetest

import (
	"context"
	"testing"
	"time"

	"healthcode"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TubesOf checks the batch read of tubes with their collections: each tube
// asked for and collected into, with its members in the order recorded; an
// id of no tube absent; a tube whose collections were purged present with
// no members; the same answer as Tube and TubeMembers one by one.
func TubesOf(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	p := MustPerson(t, s, "张小明", "410102199001011234")
	q := MustPerson(t, s, "李小红", "410102199001021234")
	col := func(tube string, mixed bool, subject string, at time.Time) *healthcode.Collection {
		return &healthcode.Collection{Tube: tube, Mixed: mixed, Subject: subject, Site: "金水区文化路采样点", Collector: "sampler-1",
			CollectorName: "采样点 1", CollectorUnit: "金水区核酸采样队", CollectedAt: at, RecordedAt: at.Add(time.Minute)}
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.TubesOf(ctx, nil)
		if err != nil || len(got) != 0 {
			t.Errorf("TubesOf(nil) = %+v, %v; want an empty map", got, err)
		}
		got, err = tx.TubesOf(ctx, []string{"T-1"})
		if err != nil || len(got) != 0 {
			t.Errorf("TubesOf of no tube = %+v, %v; want an empty map", got, err)
		}
		return nil
	})
	// MIX-2's second member is recorded before MIX-1's second: members come
	// in the order recorded, tube by tube.
	old := col("T-OLD", false, q.Pseudonym, t0.Add(-40*healthcode.Day))
	a1, b1 := col("MIX-1", true, q.Pseudonym, t0), col("MIX-2", true, p.Pseudonym, t0.Add(time.Minute))
	b2, a2 := col("MIX-2", true, q.Pseudonym, t0.Add(2*time.Minute)), col("MIX-1", true, p.Pseudonym, t0.Add(3*time.Minute))
	single := col("T-3", false, p.Pseudonym, t0)
	update(t, s, func(tx healthcode.Tx) error {
		for _, c := range []*healthcode.Collection{old, a1, b1, b2, a2, single} {
			if ok, err := tx.InsertCollection(ctx, c); err != nil || !ok {
				t.Errorf("InsertCollection(%+v) = %v, %v", c, ok, err)
			}
		}
		return tx.SetTubeResult(ctx, &healthcode.Tube{ID: "T-3", ResultBy: "lab-1", ResultKind: healthcode.NucleicAcidTest,
			Result: healthcode.Negative, ResultAt: t0.Add(5 * time.Hour)})
	})
	plan := healthcode.DefaultRetention().Plan(t0)
	update(t, s, func(tx healthcode.Tx) error { _, err := tx.Purge(ctx, plan); return err })
	ids := []string{"MIX-1", "T-NONE", "T-3", "MIX-2", "T-OLD", "MIX-1"}
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.TubesOf(ctx, ids)
		if err != nil {
			return err
		}
		want := map[string]*healthcode.TubeSamples{
			"MIX-1": {Tube: healthcode.Tube{ID: "MIX-1", Mixed: true, Unit: "金水区核酸采样队", Members: 2}, Members: []healthcode.Collection{*a1, *a2}},
			"MIX-2": {Tube: healthcode.Tube{ID: "MIX-2", Mixed: true, Unit: "金水区核酸采样队", Members: 2}, Members: []healthcode.Collection{*b1, *b2}},
			"T-3": {Tube: healthcode.Tube{ID: "T-3", Unit: "金水区核酸采样队", Members: 1, ResultBy: "lab-1", ResultKind: healthcode.NucleicAcidTest,
				Result: healthcode.Negative, ResultAt: t0.Add(5 * time.Hour)}, Members: []healthcode.Collection{*single}},
			"T-OLD": {Tube: healthcode.Tube{ID: "T-OLD", Unit: "金水区核酸采样队", Members: 1}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("TubesOf (-want +got):\n%s", diff)
		}
		// The same as Tube and TubeMembers, one tube at a time.
		for id, ts := range got {
			one, err := tx.Tube(ctx, id)
			if err != nil {
				return err
			}
			members, err := tx.TubeMembers(ctx, id)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(&healthcode.TubeSamples{Tube: *one, Members: members}, ts, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("TubesOf(%s) differs from Tube and TubeMembers (-one by one +batch):\n%s", id, diff)
			}
		}
		return nil
	})
}
