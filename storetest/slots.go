package storetest

import (
	"context"
	"testing"
	"time"

	"healthcode"
)

// Slots checks what the slot capacity rests on: CountSlot counts the people
// who checked in with one venue's live code of one slot (not its printed
// code, not another slot, not another venue), and UnverifySlot takes the
// proof from exactly those check-ins.
func Slots(t *testing.T, s healthcode.Store) {
	ctx := context.Background()
	var people []*healthcode.Person
	for i, name := range []string{"张一", "张二", "张三", "张四"} {
		people = append(people, MustPerson(t, s, name, "41010219900101124"+string(rune('0'+i))))
	}
	v := &healthcode.Venue{ID: "vslot", Name: "金水路网点", Address: "金水区", Region: "410105", Category: "bank",
		Owner: "owner", SealedSecret: make([]byte, 69), Status: healthcode.VenueActive, RegisteredAt: t0}
	w := &healthcode.Venue{ID: "vslot2", Name: "花园路网点", Address: "金水区", Region: "410105", Category: "bank",
		Owner: "owner", SealedSecret: make([]byte, 69), Status: healthcode.VenueActive, RegisteredAt: t0}
	slot := healthcode.SlotOf(t0)
	at := func(d time.Duration) time.Time { return t0.Truncate(healthcode.VenueSlot).Add(d) }
	cs := []*healthcode.CheckIn{
		// Three people with the slot's live code, one of them scanning it
		// in the next slot (still good); one with the printed code; one
		// with the next slot's code; one at the other venue.
		{Venue: v.ID, Subject: people[0].Pseudonym, At: at(time.Second), Slot: slot, Verified: true},
		{Venue: v.ID, Subject: people[1].Pseudonym, At: at(2 * time.Second), Slot: slot, Verified: true},
		{Venue: v.ID, Subject: people[2].Pseudonym, At: at(40 * time.Second), Slot: slot, Verified: true},
		{Venue: v.ID, Subject: people[3].Pseudonym, At: at(3 * time.Second), Slot: -1},
		{Venue: v.ID, Subject: people[3].Pseudonym, At: at(35 * time.Second), Slot: slot + 1, Verified: true},
		{Venue: w.ID, Subject: people[3].Pseudonym, At: at(4 * time.Second), Slot: slot, Verified: true},
	}
	update(t, s, func(tx healthcode.Tx) error {
		for _, x := range []*healthcode.Venue{v, w} {
			if err := tx.CreateVenue(ctx, x); err != nil {
				return err
			}
		}
		_, err := tx.InsertCheckIns(ctx, cs)
		return err
	})
	count := func(venue string, slot int64) int64 {
		t.Helper()
		var n int64
		view(t, s, func(tx healthcode.ReadTx) error {
			var err error
			n, err = tx.CountSlot(ctx, venue, slot)
			return err
		})
		return n
	}
	for _, tc := range []struct {
		venue string
		slot  int64
		want  int64
	}{{v.ID, slot, 3}, {v.ID, slot + 1, 1}, {v.ID, slot - 1, 0}, {w.ID, slot, 1}, {"vnone", slot, 0}} {
		if got := count(tc.venue, tc.slot); got != tc.want {
			t.Errorf("CountSlot(%s, slot%+d) = %d, want %d", tc.venue, tc.slot-slot, got, tc.want)
		}
	}
	var changed int64
	update(t, s, func(tx healthcode.Tx) error {
		var err error
		changed, err = tx.UnverifySlot(ctx, v.ID, slot)
		return err
	})
	if changed != 3 {
		t.Errorf("UnverifySlot changed %d check-ins, want 3", changed)
	}
	view(t, s, func(tx healthcode.ReadTx) error {
		for _, venue := range []string{v.ID, w.ID} {
			got, err := tx.CheckIns(ctx, healthcode.CheckInQuery{Venue: venue, From: at(-time.Minute), To: at(2 * time.Minute)}, healthcode.CheckInCursor{}, 100)
			if err != nil {
				return err
			}
			for _, c := range got {
				want := c.Venue == w.ID || c.Slot == slot+1
				if c.Verified != want {
					t.Errorf("after UnverifySlot: %+v verified %v, want %v", c, c.Verified, want)
				}
			}
		}
		return nil
	})
	if count(v.ID, slot) != 3 {
		t.Errorf("an unverified slot's people are still counted: %d", count(v.ID, slot))
	}
}
