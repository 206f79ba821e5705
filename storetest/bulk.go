package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"healthcode"
)

// BulkLoad checks a backend's healthcode.BulkLoader: people and check-ins
// loaded read back as if created one by one, every query on them answers
// (the indexes a load may build at its end included), and a load that
// repeats a person, names an unknown person or venue, or repeats a
// live-code check-in is refused (each on a store of its own: a failed load
// is for a store to be discarded). A backend without a bulk loader skips it.
func BulkLoad(t *testing.T, s healthcode.Store, open Opener) {
	ctx := context.Background()
	if _, ok := s.(healthcode.BulkLoader); !ok {
		t.Skipf("%T implements no healthcode.BulkLoader", s)
	}
	people := bulkPeople(t, 300)
	venues := bulkVenues(t, s)
	// Each person checks in at both venues, once by a live code and once
	// by a printed one.
	var cs []*healthcode.CheckIn
	for i, p := range people {
		at := t0.Add(time.Duration(i) * time.Minute)
		cs = append(cs,
			&healthcode.CheckIn{Venue: venues[i%2], Subject: p.Pseudonym, At: at, Slot: healthcode.SlotOf(at), Verified: true},
			&healthcode.CheckIn{Venue: venues[(i+1)%2], Subject: p.Pseudonym, At: at.Add(time.Second), Slot: -1})
	}
	bulk(t, s, func(tx healthcode.BulkTx) error {
		// In several calls, as a loader sends them.
		for _, part := range [][]*healthcode.Person{people[:100], people[100:]} {
			if err := tx.AddPeople(ctx, part); err != nil {
				return err
			}
		}
		return nil
	})
	bulk(t, s, func(tx healthcode.BulkTx) error {
		for _, part := range [][]*healthcode.CheckIn{cs[:250], cs[250:]} {
			if err := tx.AddCheckIns(ctx, part); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx healthcode.ReadTx) error {
		n, err := tx.PeopleCount(ctx)
		if err != nil || n != int64(len(people)) {
			t.Errorf("PeopleCount after the load = %d, %v; want %d", n, err, len(people))
		}
		p := people[123]
		got, err := tx.PersonByIDHash(ctx, p.IDHash)
		if err != nil {
			return err
		}
		dk, err := keys.UnwrapKey(got.WrappedKey, got.Pseudonym)
		if err != nil {
			t.Fatalf("unwrap a loaded person's key: %v", err)
		}
		got.DataKey = dk
		if err := got.Unseal(); err != nil || got.Personal.Name != p.Personal.Name || got.MaskedName != p.MaskedName {
			t.Errorf("loaded person %+v (%v), want %+v", got, err, p)
		}
		for _, tc := range []struct {
			q            healthcode.CheckInQuery
			rows, people int64
		}{
			{healthcode.CheckInQuery{Venue: venues[0], From: t0, To: t0.Add(24 * time.Hour)}, 300, 300},
			{healthcode.CheckInQuery{Subjects: []string{p.Pseudonym}, From: t0, To: t0.Add(24 * time.Hour)}, 2, 1},
			{healthcode.CheckInQuery{Venue: venues[1], From: t0, To: t0.Add(10 * time.Minute)}, 10, 10},
		} {
			rows, n, err := tx.CountCheckIns(ctx, tc.q)
			if err != nil {
				return err
			}
			if rows != tc.rows || n != tc.people {
				t.Errorf("CountCheckIns(%+v) after the load = %d rows, %d people; want %d, %d", tc.q, rows, n, tc.rows, tc.people)
			}
		}
		mine, err := tx.CheckInsOf(ctx, p.Pseudonym, t0, t0.Add(24*time.Hour))
		if err != nil || len(mine) != 2 || mine[0].Slot != healthcode.SlotOf(mine[0].At) || !mine[0].Verified || mine[1].Slot != -1 || mine[1].Verified {
			t.Errorf("CheckInsOf a loaded person = %+v, %v", mine, err)
		}
		return nil
	})
	// The store takes writes as usual afterwards, its constraints in
	// force: the live-code check-in of a loaded row is a repeat.
	update(t, s, func(tx healthcode.Tx) error {
		c := *cs[0]
		ins, err := tx.InsertCheckIns(ctx, []*healthcode.CheckIn{&c})
		if err == nil && ins[0] {
			t.Errorf("a live-code check-in repeating a loaded one was inserted")
		}
		return err
	})
	err := s.Update(ctx, func(tx healthcode.Tx) error { return tx.CreatePerson(ctx, people[0]) })
	wantCode(t, err, healthcode.ECONFLICT)

	for _, tc := range []struct {
		name string
		load func(tx healthcode.BulkTx) error
		code string
	}{
		{"a person twice", func(tx healthcode.BulkTx) error {
			return tx.AddPeople(ctx, []*healthcode.Person{people[0], people[1], people[0]})
		}, healthcode.ECONFLICT},
		{"a check-in of no one", func(tx healthcode.BulkTx) error {
			if err := tx.AddPeople(ctx, people[:1]); err != nil {
				return err
			}
			return tx.AddCheckIns(ctx, []*healthcode.CheckIn{{Venue: "vbulk1", Subject: "pnobody", At: t0, Slot: -1}})
		}, healthcode.ENOTFOUND},
		{"a check-in at no venue", func(tx healthcode.BulkTx) error {
			if err := tx.AddPeople(ctx, people[:1]); err != nil {
				return err
			}
			return tx.AddCheckIns(ctx, []*healthcode.CheckIn{{Venue: "vnowhere", Subject: people[0].Pseudonym, At: t0, Slot: -1}})
		}, healthcode.ENOTFOUND},
		{"a live-code check-in twice", func(tx healthcode.BulkTx) error {
			if err := tx.AddPeople(ctx, people[:1]); err != nil {
				return err
			}
			c := &healthcode.CheckIn{Venue: "vbulk1", Subject: people[0].Pseudonym, At: t0, Slot: healthcode.SlotOf(t0), Verified: true}
			return tx.AddCheckIns(ctx, []*healthcode.CheckIn{c, c})
		}, healthcode.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := open(t)
			bulkVenues(t, fresh) // before: a load holds the writer
			err := fresh.(healthcode.BulkLoader).BulkLoad(ctx, tc.load)
			wantCode(t, err, tc.code)
		})
	}
}

// bulkPeople makes n people (not stored).
func bulkPeople(t *testing.T, n int) []*healthcode.Person {
	t.Helper()
	out := make([]*healthcode.Person, n)
	for i := range out {
		p, err := keys.NewPerson("410100", healthcode.PersonalData{Name: "王建国", IDNumber: fmt.Sprintf("41010219900101%04d", i)}, t0)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// bulkVenues stores two venues and returns their ids.
func bulkVenues(t *testing.T, s healthcode.Store) []string {
	t.Helper()
	ids := []string{"vbulk1", "vbulk2"}
	update(t, s, func(tx healthcode.Tx) error {
		for _, id := range ids {
			if err := tx.CreateVenue(context.Background(), &healthcode.Venue{ID: id, Name: "二七广场便利店", Address: "二七区", Region: "410103", Category: "retail",
				Owner: "owner", SealedSecret: make([]byte, 69), Status: healthcode.VenueActive, RegisteredAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	return ids
}

func bulk(t *testing.T, s healthcode.Store, fn func(healthcode.BulkTx) error) {
	t.Helper()
	if err := s.(healthcode.BulkLoader).BulkLoad(context.Background(), fn); err != nil {
		t.Fatalf("BulkLoad: %v", err)
	}
}
