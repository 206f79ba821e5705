package engine_test

import (
	"strings"
	"testing"

	"healthcode"
)

// TestCrowdedSlotProvesNoPresence: a venue's live code proves presence for
// at most the slot capacity of people; the scan that takes the slot past it
// is stored unverified and marked crowded, the slot's earlier check-ins
// lose their proof with it, a node restarted in the same slot still knows
// (from the store), the next slot starts afresh, and oversight is alerted
// naming the people who scanned it.
func TestCrowdedSlotProvesNoPresence(t *testing.T) {
	t.Parallel()
	const capacity = 5
	e := newEnv(t, envConfig{people: 22})
	e.eng.SlotCapacity = capacity
	r := e.watch()
	v := e.liveVenue("410103")
	live := v.LiveCode(e.clock.Now())
	scan := func(i int, code string) *healthcode.CheckIn {
		t.Helper()
		c, _, err := e.eng.CheckIn(e.ctx, &healthcode.Principal{ID: e.subj[i], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[i]}, code)
		if err != nil {
			t.Fatalf("check-in of person %d: %v", i, err)
		}
		return c
	}
	slotVerified := func(slot int64) (verified, all int) {
		t.Helper()
		err := e.db.View(e.ctx, func(tx healthcode.ReadTx) error {
			from, to := healthcode.SlotValidity(slot)
			cs, err := tx.CheckIns(e.ctx, healthcode.CheckInQuery{Venue: v.ID, From: from, To: to}, healthcode.CheckInCursor{}, 1000)
			for _, c := range cs {
				if c.Slot == slot {
					all++
					if c.Verified {
						verified++
					}
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return verified, all
	}
	slot := healthcode.SlotOf(e.clock.Now())
	for i := range capacity {
		if c := scan(i, live); !c.Verified || c.Crowded {
			t.Fatalf("scan %d of %d, within the capacity: %+v", i+1, capacity, c)
		}
	}
	if v, all := slotVerified(slot); v != capacity || all != capacity {
		t.Fatalf("before the crowd: %d of %d check-ins verified, want all %d", v, all, capacity)
	}
	if c := scan(capacity, live); c.Verified || !c.Crowded {
		t.Fatalf("the scan past the capacity: %+v, want unverified and crowded", c)
	}
	if v, all := slotVerified(slot); v != 0 || all != capacity+1 {
		t.Fatalf("after the crowd: %d of %d check-ins verified, want none", v, all)
	}
	// A node restarted in the same slot reads the slot's count from the
	// store: the next scan is crowded too.
	e.eng.Close()
	e.eng = e.newEngine()
	e.eng.SlotCapacity = capacity
	if err := e.eng.Open(e.ctx); err != nil {
		t.Fatal(err)
	}
	for i := capacity + 1; i < 16; i++ {
		if c := scan(i, live); c.Verified || !c.Crowded {
			t.Fatalf("scan %d after a restart: %+v, want unverified and crowded", i+1, c)
		}
	}
	// The next slot's code is a new door count.
	e.clock.Advance(healthcode.VenueSlot)
	next := v.LiveCode(e.clock.Now())
	for i := 16; i < 16+capacity; i++ {
		if c := scan(i, next); !c.Verified || c.Crowded {
			t.Fatalf("scan %d in the next slot: %+v", i+1, c)
		}
	}
	e.eng.Close()
	as := e.pass(r)[healthcode.DetectPresence]
	if len(as) != 1 || !strings.HasPrefix(as[0].Key, "photo/"+v.ID+"/") || !strings.Contains(as[0].Summary, "slot capacity") || len(as[0].People) < 10 || len(as[0].People) > 16-capacity {
		t.Fatalf("presence alerts = %+v, want one about the crowded slot naming the crowded scanners (at least the detector's 10, at most the %d)", as, 16-capacity)
	}
}

// TestReplaysDoNotCrowdASlot: one person scanning the same live code again
// and again (each a refused replay) does not count as more people at the
// door: the next person's scan still proves presence.
func TestReplaysDoNotCrowdASlot(t *testing.T) {
	t.Parallel()
	const capacity = 3
	e := newEnv(t, envConfig{people: 4})
	e.eng.SlotCapacity = capacity
	v := e.liveVenue("410103")
	live := v.LiveCode(e.clock.Now())
	citizen := func(i int) *healthcode.Principal {
		return &healthcode.Principal{ID: e.subj[i], Name: "citizen", Role: healthcode.RoleCitizen, Subject: e.subj[i]}
	}
	if c, _, err := e.eng.CheckIn(e.ctx, citizen(0), live); err != nil || !c.Verified {
		t.Fatalf("first scan: %+v %v", c, err)
	}
	for range 2 * capacity {
		if _, _, err := e.eng.CheckIn(e.ctx, citizen(0), live); healthcode.ErrorDetail(err) != "checkin.replayed" {
			t.Fatalf("a replay: %v, want checkin.replayed", err)
		}
	}
	if c, _, err := e.eng.CheckIn(e.ctx, citizen(1), live); err != nil || !c.Verified || c.Crowded {
		t.Fatalf("the second person at the door after one person's replays: %+v %v", c, err)
	}
}
