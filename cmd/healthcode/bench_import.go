package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/sim"
)

// benchImport imports a city-wide testing round (validated, deduplicated,
// stored, logged, everyone affected re-evaluated) against bare batched
// inserts of the same rows into SQLite. The round is cut into one part per
// round: the node imports part i and the bare table takes part i's rows,
// alternating, so that both sides meet tables of the same sizes.
func benchImport(env *bench.Env) (bench.Result, error) {
	start := time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := healthcode.NewManualClock(start.Add(48 * time.Hour))
	n, err := benchNode(env, "import", clock)
	if err != nil {
		return bench.Result{}, err
	}
	defer n.close()
	city, err := sim.New(sim.Config{Seed: 3, People: env.People, Start: start})
	if err != nil {
		return bench.Result{}, err
	}
	env.Logf("import.results", "registering %d people…", env.People)
	if err := registerCity(env.Ctx, n, city); err != nil {
		return bench.Result{}, err
	}
	// The round's samples are collected first (not timed): the figure is
	// the lab's import of the results, by tube.
	lab, sampler := city.Labs[0].Principal(), city.Samplers[0].Principal()
	var subs []healthcode.Submission
	var cols []healthcode.CollectionRequest
	var bare []healthcode.Evidence
	var ends []int // ends[k]: bare rows up to and including tube k's people
	for r := range city.TestingRound(start.Add(24*time.Hour), city.Samplers[0], city.Labs[0], true) {
		cols = append(cols, r.Collection(len(cols)))
		bare = append(bare, healthcode.Evidence{Kind: r.Kind, Subject: n.engine.Keys.Pseudonymize(city.Region, r.IDNumber),
			Submitter: lab.ID, SubmitterName: lab.Name, SubmitterRole: lab.Role, ExternalID: "tube/" + r.Tube + "/" + strconv.Itoa(len(bare)),
			ObservedAt: r.CollectedAt, RecordedAt: clock.Now(), Result: r.Result, Pooled: r.Mixed, PoolID: r.Tube})
		if r.LastInTube {
			subs = append(subs, r.Submission(len(subs)+1))
			ends = append(ends, len(bare))
		}
	}
	env.Logf("import.results", "collecting %d samples…", len(cols))
	for i := 0; i < len(cols); i += 5000 {
		outs, err := n.engine.Collect(env.Ctx, &sampler, cols[i:min(i+5000, len(cols))])
		if err != nil {
			return bench.Result{}, err
		}
		for _, o := range outs {
			if o.Status != healthcode.Accepted {
				return bench.Result{}, fmt.Errorf("collection %d: %s %v", o.Line, o.Status, o.Err)
			}
		}
	}
	// Baseline: the same rows, bare batched inserts, in the same run.
	bdb, err := openBareInserts(env.Ctx, filepath.Join(env.Dir, "bare.db"))
	if err != nil {
		return bench.Result{}, err
	}
	defer bdb.Close()
	rounds := env.Rounds
	if len(subs) < rounds {
		return bench.Result{}, fmt.Errorf("%d tubes are fewer than the %d rounds", len(subs), rounds)
	}
	part := func(i int) (from, to int) { return len(subs) * i / rounds, len(subs) * (i + 1) / rounds }
	rows := func(from, to int) (int, int) {
		lo := 0
		if from > 0 {
			lo = ends[from-1]
		}
		return lo, ends[to-1]
	}
	ri, bi := 0, 0
	p, err := env.Alternate(func() (float64, error) {
		from, to := part(ri)
		ri++
		lo, hi := rows(from, to)
		t := time.Now()
		for i := from; i < to; i += 2000 {
			outs, err := n.engine.Submit(env.Ctx, &lab, subs[i:min(i+2000, to)])
			if err != nil {
				return 0, err
			}
			for _, o := range outs {
				if o.Status != healthcode.Accepted {
					return 0, fmt.Errorf("tube result %d: %s %v", o.Line, o.Status, o.Err)
				}
			}
		}
		// A tube's result is one result per person in it: the rate counts
		// people's results, as the baseline's rows do.
		return float64(hi-lo) / time.Since(t).Seconds(), nil
	}, func() (float64, error) {
		from, to := part(bi)
		bi++
		lo, hi := rows(from, to)
		t := time.Now()
		if err := bdb.insert(env.Ctx, bare[lo:hi], 2000); err != nil {
			return 0, err
		}
		return float64(hi-lo) / time.Since(t).Seconds(), nil
	})
	return p.Fill(bench.Result{Unit: "results/s", Baseline: "bare batched SQLite inserts", Target: 0.3}), err
}
