package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"healthcode"
	"healthcode/scale"
	"healthcode/sim"

	"github.com/schollz/progressbar/v3"
)

// bulkPeopleFrom is the size of a synthetic city from which its people are
// bulk-loaded (package scale: keys derived on every core, rows appended in
// the order of their pseudonyms) rather than registered through
// RegisterPeople in batches: a smaller city registers in seconds either way.
const bulkPeopleFrom = 100_000

// registerCity registers a new node's synthetic city, each person as
// RegisterPeople makes them (created now, by the engine's clock), with a
// progress bar on progress for a large city.
func (n *node) registerCity(ctx context.Context, city *sim.City, progress io.Writer) error {
	bl, ok := n.engine.Store.(healthcode.BulkLoader)
	if !ok || city.Size < bulkPeopleFrom {
		return registerCity(ctx, n, city)
	}
	bar := progressbar.NewOptions64(int64(city.Size), progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription("people"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(500*time.Millisecond),
		progressbar.OptionSetWidth(30), progressbar.OptionOnCompletion(func() { fmt.Fprintln(progress) }))
	_, err := scale.People(ctx, bl, n.engine.Keys, n.engine.Region, city, city.Size, n.engine.Clock.Now(), func(done int64) { bar.Set64(done) })
	if err != nil {
		return err
	}
	return bar.Finish()
}

// registerCity registers everyone in city, in batches.
func registerCity(ctx context.Context, n *node, city *sim.City) error {
	const batch = 5000
	pds := make([]healthcode.PersonalData, 0, batch)
	for c := range city.People() {
		pds = append(pds, c.PersonalData())
		if len(pds) == batch {
			if err := n.engine.RegisterPeople(ctx, pds); err != nil {
				return err
			}
			pds = pds[:0]
		}
	}
	return n.engine.RegisterPeople(ctx, pds)
}
