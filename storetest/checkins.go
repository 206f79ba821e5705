package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"healthcode"
)

// CheckIns checks check-in queries: keyset pages that visit every row once
// in (At, ID) order, ties of At included, counts of rows and people, and the
// co-signature of a designation.
func CheckIns(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	a := MustPerson(t, s, "张小明", "410102199001011234")
	b := MustPerson(t, s, "李四", "410102199001011235")
	v := &healthcode.Venue{ID: "vpages", Name: "二七广场便利店", Address: "二七区", Region: "410103", Category: "retail",
		Owner: "owner", SealedSecret: make([]byte, 69), Status: healthcode.VenueActive, RegisteredAt: t0}
	w := &healthcode.Venue{ID: "vother", Name: "德化街", Address: "二七区", Region: "410103", Category: "retail",
		Owner: "owner", SealedSecret: make([]byte, 69), Status: healthcode.VenueActive, RegisteredAt: t0}
	var cs []*healthcode.CheckIn
	for i := 0; i < 25; i++ {
		// Three check-ins share each instant: a page may end inside a tie.
		cs = append(cs, &healthcode.CheckIn{Venue: v.ID, Subject: []string{a.Pseudonym, b.Pseudonym}[i%2], At: t0.Add(time.Duration(i/3) * time.Minute), Slot: -1})
	}
	cs = append(cs, &healthcode.CheckIn{Venue: w.ID, Subject: a.Pseudonym, At: t0, Slot: -1})
	update(t, s, func(tx healthcode.Tx) error {
		if err := tx.CreateVenue(ctx, v); err != nil {
			return err
		}
		if err := tx.CreateVenue(ctx, w); err != nil {
			return err
		}
		_, err := tx.InsertCheckIns(ctx, cs)
		return err
	})
	// Venues in id order, a page at a time; a sealed secret replaced.
	update(t, s, func(tx healthcode.Tx) error { return tx.SetVenueSecret(ctx, w.ID, []byte("a new sealed secret")) })
	err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.SetVenueSecret(ctx, "vnone", []byte("x")) })
	wantCode(t, err, healthcode.ENOTFOUND)
	view(t, s, func(tx healthcode.ReadTx) error {
		first, err := tx.Venues(ctx, "", 1)
		if err != nil {
			return err
		}
		rest, err := tx.Venues(ctx, first[0].ID, 10)
		if err != nil {
			return err
		}
		if len(first) != 1 || first[0].ID != "vother" || len(rest) != 1 || rest[0].ID != "vpages" {
			t.Errorf("Venues pages: %v then %v", first, rest)
		}
		if string(first[0].SealedSecret) != "a new sealed secret" || first[0].Secret != nil {
			t.Errorf("venue after SetVenueSecret: sealed %q, secret %x", first[0].SealedSecret, first[0].Secret)
		}
		return nil
	})

	q := healthcode.CheckInQuery{Venue: v.ID, From: t0, To: t0.Add(time.Hour)}
	for _, limit := range []int{1, 2, 3, 7, 25, 100} {
		var got []healthcode.CheckIn
		view(t, s, func(tx healthcode.ReadTx) error {
			for after := (healthcode.CheckInCursor{}); ; {
				page, err := tx.CheckIns(ctx, q, after, limit)
				if err != nil {
					return err
				}
				got = append(got, page...)
				if len(page) < limit {
					return nil
				}
				after = healthcode.CheckInCursor{At: page[len(page)-1].At, ID: page[len(page)-1].ID}
			}
		})
		if len(got) != 25 {
			t.Fatalf("pages of %d: %d rows, want 25", limit, len(got))
		}
		for i, c := range got {
			if c.ID != cs[i].ID || !c.At.Equal(cs[i].At) || c.Subject != cs[i].Subject {
				t.Fatalf("pages of %d: row %d is %+v, want %+v", limit, i, c, *cs[i])
			}
		}
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		for _, tc := range []struct {
			q            healthcode.CheckInQuery
			rows, people int64
		}{
			{q, 25, 2},
			{healthcode.CheckInQuery{Venue: v.ID, Subjects: []string{a.Pseudonym}, From: t0, To: t0.Add(time.Hour)}, 13, 1},
			{healthcode.CheckInQuery{Subjects: []string{a.Pseudonym}, From: t0, To: t0.Add(time.Hour)}, 14, 1},
			{healthcode.CheckInQuery{Venue: v.ID, From: t0.Add(time.Minute), To: t0.Add(2 * time.Minute)}, 3, 2},
			{healthcode.CheckInQuery{Venue: "vnone", From: t0, To: t0.Add(time.Hour)}, 0, 0},
		} {
			rows, people, err := tx.CountCheckIns(ctx, tc.q)
			if err != nil {
				return err
			}
			if rows != tc.rows || people != tc.people {
				t.Errorf("CountCheckIns(%+v) = %d rows, %d people; want %d, %d", tc.q, rows, people, tc.rows, tc.people)
			}
			page, err := tx.CheckIns(ctx, tc.q, healthcode.CheckInCursor{}, 1000)
			if err != nil {
				return err
			}
			if int64(len(page)) != tc.rows {
				t.Errorf("CheckIns(%+v) = %d rows, want %d", tc.q, len(page), tc.rows)
			}
		}
		_, err := tx.CheckIns(ctx, healthcode.CheckInQuery{From: t0, To: t0.Add(time.Hour)}, healthcode.CheckInCursor{}, 10)
		wantCode(t, err, healthcode.EINVALID)
		return nil
	})

	// A designation's co-signature: once, and only while it is pending.
	d := &healthcode.RiskDesignation{Venue: v.ID, Level: healthcode.RiskMedium, Reason: "case_visited", Cases: []int64{1}, From: t0, Until: t0.Add(time.Hour),
		Expires: t0.Add(48 * time.Hour), Status: healthcode.DesignationPending, CreatedAt: t0,
		Requester: healthcode.Principal{ID: "epi", Name: "流调员", Role: healthcode.RoleEpidemiologist, Unit: "疾控"}}
	auditor := &healthcode.Principal{ID: "aud", Name: "监督员", Role: healthcode.RoleAuditor, Unit: "纪委"}
	approver := &healthcode.Principal{ID: "appr", Name: "审批人", Role: healthcode.RoleApprover, Unit: "卫健委"}
	update(t, s, func(tx healthcode.Tx) error { return tx.CreateDesignation(ctx, d) })
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Designation(ctx, d.ID)
		if err != nil {
			return err
		}
		if got.CoSigner != nil || got.Exposures != -1 {
			t.Errorf("a new designation: co-signer %v, exposures %d; want none, -1", got.CoSigner, got.Exposures)
		}
		return nil
	})
	update(t, s, func(tx healthcode.Tx) error { return tx.CoSignDesignation(ctx, d.ID, auditor, t0.Add(time.Hour)) })
	err = s.Update(ctx, func(tx healthcode.Tx) error { return tx.CoSignDesignation(ctx, d.ID, auditor, t0.Add(time.Hour)) })
	wantCode(t, err, healthcode.ECONFLICT)
	update(t, s, func(tx healthcode.Tx) error {
		return tx.ApproveDesignation(ctx, d.ID, approver, t0.Add(2*time.Hour), 5, 2)
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		got, err := tx.Designation(ctx, d.ID)
		if err != nil {
			return err
		}
		if got.CoSigner == nil || *got.CoSigner != *auditor || !got.CoSignedAt.Equal(t0.Add(time.Hour)) || got.Exposures != 2 || got.LogIndex != 5 {
			t.Errorf("after co-signature and approval: %s", fmt.Sprintf("%+v co-signer %+v", got, got.CoSigner))
		}
		return nil
	})
	err = s.Update(ctx, func(tx healthcode.Tx) error { return tx.CoSignDesignation(ctx, d.ID, auditor, t0.Add(3*time.Hour)) })
	wantCode(t, err, healthcode.ECONFLICT)
}
