package storetest

import (
	"context"
	"testing"
	"time"

	"healthcode"

	"github.com/google/go-cmp/cmp"
)

// Collections checks tubes and the collections into them: a tube opens with
// its first collection, a person is in a tube once, a tube takes one
// result; collections go after the retention of test results (purge), while
// the tube, which names no one, stays until the sunset.
func Collections(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	p := MustPerson(t, s, "张小明", "410102199001011234")
	q := MustPerson(t, s, "李小红", "410102199001021234")
	col := func(tube string, mixed bool, subject string, at time.Time) *healthcode.Collection {
		return &healthcode.Collection{Tube: tube, Mixed: mixed, Subject: subject, Site: "金水区文化路采样点", Collector: "sampler-1",
			CollectorName: "采样点 1", CollectorUnit: "金水区核酸采样队", CollectedAt: at, RecordedAt: at.Add(time.Minute)}
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		_, err := tx.Tube(ctx, "T-1")
		wantCode(t, err, healthcode.ENOTFOUND)
		if m, err := tx.TubeMembers(ctx, "T-1"); err != nil || len(m) != 0 {
			t.Errorf("TubeMembers of no tube = %+v, %v", m, err)
		}
		return nil
	})
	old, a, b := col("T-OLD", false, p.Pseudonym, t0.Add(-40*healthcode.Day)), col("MIX-1", true, p.Pseudonym, t0), col("MIX-1", true, q.Pseudonym, t0.Add(time.Minute))
	update(t, s, func(tx healthcode.Tx) error {
		for _, c := range []*healthcode.Collection{old, a, b} {
			if ok, err := tx.InsertCollection(ctx, c); err != nil || !ok || c.ID == 0 {
				t.Errorf("InsertCollection(%+v) = %v, %v", c, ok, err)
			}
		}
		again := col("MIX-1", true, p.Pseudonym, t0.Add(time.Hour))
		if ok, err := tx.InsertCollection(ctx, again); err != nil || ok || again.ID != a.ID {
			t.Errorf("the same person in the same tube again: inserted %v, id %d, %v; want not inserted, id %d", ok, again.ID, err, a.ID)
		}
		_, err := tx.InsertCollection(ctx, col("T-2", false, "pnobodynobodynobodynobody", t0))
		wantCode(t, err, healthcode.ENOTFOUND)
		return nil
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		tube, err := tx.Tube(ctx, "MIX-1")
		if err != nil {
			return err
		}
		want := &healthcode.Tube{ID: "MIX-1", Mixed: true, Unit: "金水区核酸采样队", Members: 2}
		if diff := cmp.Diff(want, tube); diff != "" {
			t.Errorf("Tube (-want +got):\n%s", diff)
		}
		m, err := tx.TubeMembers(ctx, "MIX-1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]healthcode.Collection{*a, *b}, m); diff != "" {
			t.Errorf("TubeMembers (-want +got):\n%s", diff)
		}
		return nil
	})
	res := &healthcode.Tube{ID: "MIX-1", ResultBy: "lab-1", ResultKind: healthcode.NucleicAcidTest, Result: healthcode.Positive, ResultAt: t0.Add(6 * time.Hour)}
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.SetTubeResult(ctx, res); err != nil {
			t.Errorf("SetTubeResult: %v", err)
		}
		second := *res
		second.Result = healthcode.Negative
		wantCode(t, tx.SetTubeResult(ctx, &second), healthcode.ECONFLICT)
		wantCode(t, tx.SetTubeResult(ctx, &healthcode.Tube{ID: "T-NONE", ResultBy: "lab-1", Result: healthcode.Positive, ResultAt: t0}), healthcode.ENOTFOUND)
		return nil
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		tube, err := tx.Tube(ctx, "MIX-1")
		if err != nil {
			return err
		}
		if !tube.Resulted() || tube.Result != healthcode.Positive || tube.ResultBy != "lab-1" || tube.ResultKind != healthcode.NucleicAcidTest || !tube.ResultAt.Equal(res.ResultAt) {
			t.Errorf("tube after its result: %+v", tube)
		}
		return nil
	})

	// Purge: collections older than the test results' retention go.
	plan := healthcode.DefaultRetention().Plan(t0)
	var rep *healthcode.PurgeReport
	update(t, s, func(tx healthcode.Tx) error { var err error; rep, err = tx.Purge(ctx, plan); return err })
	if rep.Counts["collections"] != 1 {
		t.Errorf("Purge deleted %d collections, want 1 (the 40-day-old one)", rep.Counts["collections"])
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		if m, err := tx.TubeMembers(ctx, "T-OLD"); err != nil || len(m) != 0 {
			t.Errorf("the purged tube's members: %+v, %v", m, err)
		}
		if m, err := tx.TubeMembers(ctx, "MIX-1"); err != nil || len(m) != 2 {
			t.Errorf("a recent tube's members after the purge: %+v, %v", m, err)
		}
		return nil
	})
	// Sunset: every collection goes, and the tubes with them.
	update(t, s, func(tx healthcode.Tx) error { var err error; rep, err = tx.Sunset(ctx); return err })
	if rep.Counts["collections"] != 2 {
		t.Errorf("Sunset deleted %d collections, want 2", rep.Counts["collections"])
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		if m, err := tx.TubeMembers(ctx, "MIX-1"); err != nil || len(m) != 0 {
			t.Errorf("members after sunset: %+v, %v", m, err)
		}
		_, err := tx.Tube(ctx, "MIX-1")
		wantCode(t, err, healthcode.ENOTFOUND)
		return nil
	})
}
