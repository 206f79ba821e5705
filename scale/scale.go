// Package scale loads the synthetic city of `healthcode bench --scale` into
// a store through its healthcode.BulkLoader: millions of people and a
// hundred million check-ins, on every core and in large transactions.
//
// It writes only what the node never logs row by row (people as
// RegisterPeople makes them, citizens' own check-ins); everything an
// official or the rules do — evidence, decisions, the registry, venues'
// approvals — goes through the engine and the log, so the log verifies after
// a load as before it. It must never be pointed at a node's real data: it
// invents people (package sim) and registers them.
package scale

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"healthcode"
	"healthcode/sim"
)

// Progress is told how far a phase has come.
type Progress func(done int64)

// People registers the first n people of the city, as the engine's
// RegisterPeople does (a fresh data key, sealed personal data, the wrapped
// key, the keyed pseudonym and ID hash, all derived on every core), and
// returns their pseudonyms by index.
//
// They are loaded in the order of their pseudonyms: the people table's key
// and the person_keys table's are then appended to, each index page written
// once, rather than inserted at random places in the whole tree (the
// writer's largest cost). The pseudonyms are derived first, on every core
// (a keyed hash each), and sorted.
func People(ctx context.Context, bl healthcode.BulkLoader, keys *healthcode.Keys, region string, city *sim.City, n int, now time.Time, progress Progress) ([]string, error) {
	const chunk = 8192
	n = min(n, city.Size)
	workers := max(1, runtime.GOMAXPROCS(0))
	pseudonyms := make([]string, n)
	var pwg sync.WaitGroup
	for w := range workers {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for i := w; i < n; i += workers {
				pseudonyms[i] = keys.Pseudonymize(region, city.Person(i).IDNumber)
			}
		}()
	}
	pwg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(pseudonyms[a], pseudonyms[b]) })
	chunks := (n + chunk - 1) / chunk
	type batch struct {
		people []*healthcode.Person
		err    error
	}
	// Each worker builds whole chunks; the loader takes them in order.
	// Results wait in a slot per chunk, at most a few chunks ahead.
	slots := make([]chan batch, chunks)
	for i := range slots {
		slots[i] = make(chan batch, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ahead := make(chan struct{}, 2*workers)
	next := make(chan int)
	var wg sync.WaitGroup
	go func() {
		defer close(next)
		for c := range chunks {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				lo, hi := c*chunk, min((c+1)*chunk, n)
				b := batch{people: make([]*healthcode.Person, 0, hi-lo)}
				for _, i := range order[lo:hi] {
					p, err := keys.NewPerson(region, city.Person(int(i)).PersonalData(), now)
					if err == nil && p.Pseudonym != pseudonyms[i] {
						err = fmt.Errorf("its pseudonym changed between two derivations")
					}
					if err != nil {
						b.err = fmt.Errorf("person %d: %w", i, err)
						break
					}
					b.people = append(b.people, p)
				}
				slots[c] <- b
			}
		}()
	}
	defer wg.Wait()
	err := bl.BulkLoad(ctx, func(tx healthcode.BulkTx) error {
		done := int64(0)
		for c := range chunks {
			var b batch
			select {
			case b = <-slots[c]:
			case <-ctx.Done():
				return ctx.Err()
			}
			<-ahead
			if b.err != nil {
				return b.err
			}
			if err := tx.AddPeople(ctx, b.people); err != nil {
				return err
			}
			done += int64(len(b.people))
			if progress != nil {
				progress(done)
			}
		}
		return nil
	})
	if err != nil {
		cancel()
		return nil, err
	}
	return pseudonyms, nil
}

// CheckIns stores v's check-ins from number first on, each naming the
// pseudonym of its person and the id of its venue. They are generated on the
// other cores while the store writes.
func CheckIns(ctx context.Context, bl healthcode.BulkLoader, v sim.Visits, first int64, pseudonyms, venues []string, progress Progress) error {
	if len(pseudonyms) != v.City.Size || len(venues) != v.Venues {
		return fmt.Errorf("scale.CheckIns: %d pseudonyms and %d venues for a city of %d and %d venues", len(pseudonyms), len(venues), v.City.Size, v.Venues)
	}
	const chunk = 65536
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Two buffers in flight per worker: generation stays ahead of the
	// writer without holding more than a few hundred thousand rows.
	workers := max(1, runtime.GOMAXPROCS(0)-1)
	todo := max(0, v.Total-first)
	chunks := (todo + chunk - 1) / chunk
	out := make([]chan []*healthcode.CheckIn, workers)
	for w := range out {
		out[w] = make(chan []*healthcode.CheckIn, 2)
	}
	for w := range workers {
		go func() {
			defer close(out[w])
			for c := int64(w); c < chunks; c += int64(workers) {
				lo, hi := first+c*chunk, first+min((c+1)*chunk, todo)
				cs := make([]*healthcode.CheckIn, hi-lo)
				rows := make([]healthcode.CheckIn, hi-lo)
				for k := lo; k < hi; k++ {
					x := v.At(k)
					r := &rows[k-lo]
					r.Venue, r.Subject, r.At, r.Slot = venues[x.Venue], pseudonyms[x.Person], x.At, -1
					if x.Live {
						r.Slot, r.Verified = healthcode.SlotOf(x.At), true
					}
					cs[k-lo] = r
				}
				select {
				case out[w] <- cs:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return bl.BulkLoad(ctx, func(tx healthcode.BulkTx) error {
		done := int64(0)
		for c := int64(0); c < chunks; c++ {
			var cs []*healthcode.CheckIn
			select {
			case cs = <-out[c%int64(workers)]:
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := tx.AddCheckIns(ctx, cs); err != nil {
				return err
			}
			done += int64(len(cs))
			if progress != nil {
				progress(done)
			}
		}
		return nil
	})
}
