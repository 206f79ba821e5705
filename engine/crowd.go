package engine

import (
	"context"
	"sync"

	"healthcode"
)

// A live venue code proves presence only if no more people scanned it than
// can pass the venue's door in one slot (healthcode.DefaultSlotCapacity):
// past that it is being passed around, and none of the slot's check-ins
// prove anything. The count is the store's (CountSlot, read once per venue
// and slot, then kept here), so a restart or a rolled-back batch costs a
// read, never a wrong answer; the batch that takes a slot past the
// capacity marks the slot's earlier check-ins unverified in the same
// transaction as its own (UnverifySlot), so every reader of presence —
// designations, contacts, travel records, traces — sees the same.

type slotKey struct {
	venue string
	slot  int64
}

// slotCounts is the people per venue slot of the last few slots, as
// committed. Only the check-in writer changes it.
type slotCounts struct {
	mu sync.Mutex
	m  map[slotKey]int64
}

// maxSlotCounts bounds the map; past it, slots older than the current
// code's validity are forgotten.
const maxSlotCounts = 50_000

func (s *slotCounts) get(k slotKey) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.m[k]
	return n, ok
}

func (s *slotCounts) set(k slotKey, n int64, current int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[slotKey]int64{}
	}
	if len(s.m) >= maxSlotCounts {
		for x := range s.m {
			if x.slot < current-2 {
				delete(s.m, x)
			}
		}
	}
	s.m[k] = n
}

// forget drops every count (after a failed commit: the store is read again).
func (s *slotCounts) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}

func (e *Engine) slotCapacity() int64 {
	if e.SlotCapacity > 0 {
		return int64(e.SlotCapacity)
	}
	return healthcode.DefaultSlotCapacity
}

// crowdCheckIns applies the slot capacity to a batch of check-ins about to
// be stored in tx: a live-code check-in of a slot that this batch takes,
// or that was already, past the capacity is made unverified (Crowded), and
// the slot's stored check-ins are marked unverified when the batch crosses
// it. It returns the slots' counts before the batch (see slotCountsAfter).
func (e *Engine) crowdCheckIns(ctx context.Context, tx healthcode.Tx, cs []*healthcode.CheckIn) (map[slotKey]int64, error) {
	capacity := e.slotCapacity()
	people := map[slotKey]map[string]bool{}
	for _, c := range cs {
		if c.Slot < 0 {
			continue
		}
		k := slotKey{c.Venue, c.Slot}
		if people[k] == nil {
			people[k] = map[string]bool{}
		}
		people[k][c.Subject] = true
	}
	counts := make(map[slotKey]int64, len(people))
	befores := make(map[slotKey]int64, len(people))
	for k, batch := range people {
		before, ok := e.slots.get(k)
		if !ok {
			n, err := tx.CountSlot(ctx, k.venue, k.slot)
			if err != nil {
				return nil, err
			}
			before = n
		}
		befores[k] = before
		// People of the batch already stored for the slot are replays,
		// which the store refuses: they may count twice here, which only
		// errs toward refusing proof for this batch; what is kept after
		// the commit counts only the rows stored (slotCountsAfter), so
		// one person's replays cannot crowd a slot.
		after := before + int64(len(batch))
		counts[k] = after
		if after <= capacity {
			continue
		}
		if before > 0 && before <= capacity {
			if _, err := tx.UnverifySlot(ctx, k.venue, k.slot); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range cs {
		if c.Slot >= 0 && c.Verified && counts[slotKey{c.Venue, c.Slot}] > capacity {
			c.Verified, c.Crowded = false, true
		}
	}
	return befores, nil
}

// slotCountsAfter is each slot's count once the batch's rows are stored:
// the count before it and the live-code rows the store took (inserted[i]
// for fresh[i]; a replay adds none).
func slotCountsAfter(before map[slotKey]int64, fresh []*healthcode.CheckIn, inserted []bool) map[slotKey]int64 {
	after := make(map[slotKey]int64, len(before))
	for k, n := range before {
		after[k] = n
	}
	for i, c := range fresh {
		if c.Slot >= 0 && inserted[i] {
			after[slotKey{c.Venue, c.Slot}]++
		}
	}
	return after
}
