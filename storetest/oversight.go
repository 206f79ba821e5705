package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"healthcode"

	"github.com/google/go-cmp/cmp"
)

// Oversight checks alerts (one per detector and key, filtered), reviews
// (in force by official and time, closing closes the alert), detector
// cursors and webhook deliveries.
func Oversight(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	a1 := &healthcode.Alert{Detector: healthcode.DetectBurst, Key: "official/o1/1", OpenedAt: t0.Add(time.Minute), FirstEffectAt: t0,
		Summary: "official o1 named 40 people in 10 minutes", Officials: []string{"o1", "o2"}, Units: []string{"u1"},
		People: []string{"pa", "pb"}, LogIndexes: []int64{3, 4}}
	a2 := &healthcode.Alert{Detector: healthcode.DetectOverdueAppeal, Key: "appeal/7", OpenedAt: t0.Add(2 * time.Minute), FirstEffectAt: t0,
		Summary: "appeal 7 is past its deadline"}
	update(t, s, func(tx healthcode.Tx) error {
		for _, a := range []*healthcode.Alert{a1, a2} {
			created, err := tx.CreateAlert(ctx, a)
			if err != nil {
				return err
			}
			if !created || a.ID == 0 {
				t.Errorf("CreateAlert(%s) = %v, id %d", a.Key, created, a.ID)
			}
		}
		again := *a1
		again.ID, again.Summary = 0, "again"
		created, err := tx.CreateAlert(ctx, &again)
		if err != nil {
			return err
		}
		if created || again.ID != a1.ID {
			t.Errorf("a second alert with the same detector and key: created %v, id %d (want %d)", created, again.ID, a1.ID)
		}
		return nil
	})
	yes, no := true, false
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Alert(ctx, a1.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(a1, got); diff != "" {
			t.Errorf("Alert (-want +got):\n%s", diff)
		}
		_, err = tx.Alert(ctx, 999)
		wantCode(t, err, healthcode.ENOTFOUND)
		for _, tc := range []struct {
			name string
			q    healthcode.AlertQuery
			want []int64
		}{
			{"all", healthcode.AlertQuery{}, []int64{a2.ID, a1.ID}},
			{"detector", healthcode.AlertQuery{Detector: healthcode.DetectBurst}, []int64{a1.ID}},
			{"open", healthcode.AlertQuery{Open: &yes}, []int64{a2.ID, a1.ID}},
			{"closed", healthcode.AlertQuery{Open: &no}, nil},
			{"official", healthcode.AlertQuery{Official: "o2"}, []int64{a1.ID}},
			{"since", healthcode.AlertQuery{Since: t0.Add(90 * time.Second)}, []int64{a2.ID}},
			{"limit", healthcode.AlertQuery{Limit: 1}, []int64{a2.ID}},
		} {
			as, err := tx.Alerts(ctx, tc.q)
			if err != nil {
				return err
			}
			var ids []int64
			for _, a := range as {
				ids = append(ids, a.ID)
			}
			if diff := cmp.Diff(tc.want, ids); diff != "" {
				t.Errorf("Alerts %s (-want +got):\n%s", tc.name, diff)
			}
		}
		counts, err := tx.OpenAlertCounts(ctx)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(map[string]int64{healthcode.DetectBurst: 1, healthcode.DetectOverdueAppeal: 1}, counts); diff != "" {
			t.Errorf("OpenAlertCounts (-want +got):\n%s", diff)
		}
		return nil
	})

	auditor := healthcode.Principal{ID: "oa", Name: "审计员 周", Role: healthcode.RoleAuditor, Unit: "ua"}
	r := &healthcode.Review{AlertID: a1.ID, Officials: []string{"o1", "o2"}, Note: "why", Status: healthcode.ReviewOpen, OpenedBy: auditor,
		OpenedAt: t0.Add(3 * time.Minute), Expires: t0.Add(3*time.Minute + healthcode.ReviewSingleAuditor), LogIndex: 9, CloseIndex: -1}
	update(t, s, func(tx healthcode.Tx) error { return tx.CreateReview(ctx, r) })
	if r.ID == 0 {
		t.Fatal("CreateReview set no ID")
	}
	err := s.Update(ctx, func(tx healthcode.Tx) error {
		return tx.CreateReview(ctx, &healthcode.Review{AlertID: 999, Status: healthcode.ReviewOpen, OpenedBy: auditor, OpenedAt: t0, Expires: t0})
	})
	wantCode(t, err, healthcode.ENOTFOUND)
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Review(ctx, r.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("Review (-want +got):\n%s", diff)
		}
		_, err = tx.Review(ctx, 999)
		wantCode(t, err, healthcode.ENOTFOUND)
		if a, err := tx.Alert(ctx, a1.ID); err != nil || a.ReviewID != r.ID {
			t.Errorf("alert's review = %+v, %v; want %d", a, err, r.ID)
		}
		for _, tc := range []struct {
			official string
			at       time.Time
			want     int
		}{
			{"o1", t0.Add(time.Hour), 1},
			{"o2", t0.Add(time.Hour), 1},
			{"o3", t0.Add(time.Hour), 0},
			{"o1", r.Expires, 0}, // lapsed
		} {
			rs, err := tx.ReviewsInForce(ctx, tc.official, tc.at)
			if err != nil {
				return err
			}
			if len(rs) != tc.want {
				t.Errorf("ReviewsInForce(%s, %s) = %d reviews, want %d", tc.official, tc.at, len(rs), tc.want)
			}
		}
		if rs, err := tx.Reviews(ctx, healthcode.ReviewOpen); err != nil || len(rs) != 1 {
			t.Errorf("Reviews(open) = %d, %v", len(rs), err)
		}
		return nil
	})
	second := healthcode.Principal{ID: "ob", Name: "审计员 吴", Role: healthcode.RoleAuditor, Unit: "ub"}
	r.ConfirmedBy, r.ConfirmedAt, r.Expires = &second, t0.Add(4*time.Minute), t0.Add(4*time.Minute+healthcode.ReviewMaxDuration)
	update(t, s, func(tx healthcode.Tx) error { return tx.UpdateReview(ctx, r) })
	r.Status, r.ClosedBy, r.ClosedAt, r.CloseNote, r.CloseIndex = healthcode.ReviewClosed, &second, t0.Add(5*time.Minute), "done", 12
	update(t, s, func(tx healthcode.Tx) error { return tx.UpdateReview(ctx, r) })
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Review(ctx, r.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("closed Review (-want +got):\n%s", diff)
		}
		if rs, err := tx.ReviewsInForce(ctx, "o1", t0.Add(time.Hour)); err != nil || len(rs) != 0 {
			t.Errorf("a closed review is in force: %d, %v", len(rs), err)
		}
		as, err := tx.Alerts(ctx, healthcode.AlertQuery{Open: &no})
		if err != nil {
			return err
		}
		if len(as) != 1 || as[0].ID != a1.ID || !as[0].ClosedAt.Equal(r.ClosedAt) {
			t.Errorf("closed alerts = %+v", as)
		}
		if rs, err := tx.Reviews(ctx, healthcode.ReviewClosed); err != nil || len(rs) != 1 {
			t.Errorf("Reviews(closed) = %d, %v", len(rs), err)
		}
		return nil
	})

	update(t, s, func(tx healthcode.Tx) error {
		if v, err := tx.OversightCursor(ctx, "log"); err != nil || v != 0 {
			t.Errorf("cursor before = %d, %v", v, err)
		}
		if err := tx.SetOversightCursor(ctx, "log", 41); err != nil {
			return err
		}
		if err := tx.SetOversightCursor(ctx, "log", 42); err != nil {
			return err
		}
		for i, d := range []healthcode.DeliveryRecord{{AlertID: a2.ID, Attempt: 1, At: t0, Status: 503, Error: "503 Service Unavailable"},
			{AlertID: a2.ID, Attempt: 2, At: t0.Add(time.Second), Status: 204}} {
			if err := tx.RecordDelivery(ctx, &d); err != nil {
				t.Errorf("delivery %d: %v", i, err)
			}
		}
		return nil
	})
	err = s.Update(ctx, func(tx healthcode.Tx) error {
		return tx.RecordDelivery(ctx, &healthcode.DeliveryRecord{AlertID: 999, Attempt: 1, At: t0})
	})
	wantCode(t, err, healthcode.ENOTFOUND)
	view(t, s, func(tx healthcode.ReadTx) error {
		if v, err := tx.OversightCursor(ctx, "log"); err != nil || v != 42 {
			t.Errorf("cursor = %d, %v", v, err)
		}
		ds, err := tx.Deliveries(ctx, a2.ID)
		if err != nil {
			return err
		}
		if len(ds) != 2 || ds[0].Status != 503 || ds[1].Status != 204 || ds[1].Error != "" || !ds[1].At.Equal(t0.Add(time.Second)) {
			t.Errorf("Deliveries = %+v", ds)
		}
		return nil
	})
	MustPerson(t, s, "王芳", "410102199001011250")
	view(t, s, func(tx healthcode.ReadTx) error {
		for _, tc := range []struct {
			from, to time.Time
			want     int64
		}{{t0, t0.Add(time.Second), 1}, {t0.Add(-time.Minute), t0, 0}, {t0.Add(time.Nanosecond), t0.Add(time.Hour), 0}} {
			if n, err := tx.RegisteredBetween(ctx, tc.from, tc.to); err != nil || n != tc.want {
				t.Errorf("RegisteredBetween(%s, %s) = %d, %v; want %d", tc.from, tc.to, n, err, tc.want)
			}
		}
		return nil
	})
	// A sunset keeps the alerts and reviews (they name officials) but not
	// the people an alert named nor what auditors wrote.
	update(t, s, func(tx healthcode.Tx) error { _, err := tx.Sunset(ctx); return err })
	view(t, s, func(tx healthcode.ReadTx) error {
		a, err := tx.Alert(ctx, a1.ID)
		if err != nil {
			return err
		}
		if len(a.People) != 0 || !slices.Equal(a.Officials, a1.Officials) {
			t.Errorf("alert after the sunset = %+v", a)
		}
		r, err := tx.Review(ctx, r.ID)
		if err != nil {
			return err
		}
		if r.Note != "" || r.CloseNote != "" || r.OpenedBy.ID != auditor.ID {
			t.Errorf("review after the sunset = %+v", r)
		}
		return nil
	})
}
