package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/sim"
)

// benchTraceVenueWindow measures "who was at venue V between t1 and t2"
// (the read recorded with its purpose, durably) over ten million stored
// check-ins (a hundred million under --scale), against one indexed point
// read from the same store.
func benchTraceVenueWindow(env *bench.Env) (bench.Result, error) {
	start := time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := healthcode.NewManualClock(start.Add(14 * 24 * time.Hour))
	total, venues := 10_000_000, 2000
	if env.Scale {
		total, venues = 100_000_000, 20_000
	}
	// The data set takes minutes to build: it is built once and kept in the
	// user's cache directory (HEALTHCODE_BENCH_CACHE overrides), then reused.
	cache := os.Getenv("HEALTHCODE_BENCH_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			d = os.TempDir()
		}
		cache = filepath.Join(d, "healthcode-bench")
	}
	dir := filepath.Join(cache, fmt.Sprintf("trace-%d-v1", total))
	marker := filepath.Join(dir, "complete")
	_, statErr := os.Stat(marker)
	built := statErr == nil
	if !built {
		os.RemoveAll(dir)
	}
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr = dir, "127.0.0.1:0"
	n, err := benchNodeWith(env, cfg, clock)
	if err != nil {
		return bench.Result{}, err
	}
	defer n.close()
	r := rand.New(rand.NewPCG(3, 4))
	var ids []string
	if built {
		env.Logf("trace.venue_window", "reusing %d check-ins in %s", total, dir)
		err := n.db.View(env.Ctx, func(tx healthcode.ReadTx) error {
			vs, err := tx.VenuesIn(env.Ctx, "410105")
			for _, v := range vs {
				ids = append(ids, v.ID)
			}
			return err
		})
		if err != nil {
			return bench.Result{}, err
		}
	} else {
		env.Logf("trace.venue_window", "storing %d check-ins at %d venues in %s (once; later runs reuse them)…", total, venues, dir)
		if ids, err = buildTraceData(env, n, r, start, total, venues); err != nil {
			return bench.Result{}, err
		}
		if err := os.WriteFile(marker, []byte("ok\n"), 0o644); err != nil {
			return bench.Result{}, err
		}
	}
	span := int64(14 * 24 * time.Hour)
	epi := &healthcode.Principal{ID: "bench-epi", Name: "流调员", Role: healthcode.RoleEpidemiologist, Unit: "疾控"}
	perRound := 400
	samples := perRound * env.Rounds
	type sample struct {
		venue string
		from  time.Time
	}
	sr := rand.New(rand.NewPCG(5, 6))
	ss := make([]sample, samples)
	for i := range ss {
		ss[i] = sample{ids[sr.IntN(len(ids))], start.Add(time.Duration(sr.Int64N(span - int64(2*time.Hour))))}
	}
	// A trace cites a case that was at the venue in the window: one bench
	// case, present at every sampled venue and time.
	caseID, err := benchTraceCase(env, n, start, func(add func(venue string, at time.Time)) {
		for _, x := range ss {
			add(x.venue, x.from.Add(time.Hour))
		}
	})
	if err != nil {
		return bench.Result{}, err
	}
	rows := 0
	var queries, points bench.Side
	for k := range env.Rounds {
		qs := make([]time.Duration, perRound)
		ps := make([]time.Duration, perRound)
		for i := range perRound {
			v, from := ss[k*perRound+i].venue, ss[k*perRound+i].from
			t := time.Now()
			page, err := n.engine.TraceVenue(env.Ctx, epi, v, from, from.Add(2*time.Hour), "contact_tracing", caseID, healthcode.CheckInCursor{}, 0)
			qs[i] = time.Since(t)
			if err != nil {
				return bench.Result{}, err
			}
			rows += len(page.Presence)
			t = time.Now()
			err = n.db.View(env.Ctx, func(tx healthcode.ReadTx) error { _, err := tx.Venue(env.Ctx, v); return err })
			ps[i] = time.Since(t)
			if err != nil {
				return bench.Result{}, err
			}
		}
		queries, points = append(queries, bench.P99(qs)), append(points, bench.P99(ps))
	}
	env.Logf("trace.venue_window", "%.1f check-ins per answer on average", float64(rows)/float64(samples))
	return bench.Pair{Value: queries, Baseline: points}.Fill(bench.Result{Unit: "ms p99", Baseline: "one indexed point read, p99", Lower: true}), nil
}

// benchTraceCase stores (directly, as bench data) a case whose infectious
// window spans the bench's fortnight, and a check-in of its person at each
// place visits names. It returns the case id.
func benchTraceCase(env *bench.Env, n *node, start time.Time, visits func(add func(venue string, at time.Time))) (string, error) {
	const id = "C-BENCHTRACE"
	city, err := sim.New(sim.Config{Seed: 13, People: 100_000}) // buildTraceData's
	if err != nil {
		return "", err
	}
	subject := n.engine.Keys.Pseudonymize(city.Region, city.Person(0).IDNumber)
	var cs []*healthcode.CheckIn
	visits(func(venue string, at time.Time) {
		cs = append(cs, &healthcode.CheckIn{Venue: venue, Subject: subject, At: at, Slot: -1})
	})
	err = n.db.Update(env.Ctx, func(tx healthcode.Tx) error {
		if _, err := tx.Case(env.Ctx, id); err != nil {
			if healthcode.ErrorCode(err) != healthcode.ENOTFOUND {
				return err
			}
			if _, err := tx.Person(env.Ctx, subject); err != nil {
				return fmt.Errorf("the bench case's person is not registered: %w", err)
			}
			if err := tx.CreateCase(env.Ctx, &healthcode.Case{ID: id, Subject: subject, Clinic: healthcode.Principal{ID: "bench", Name: "bench", Role: healthcode.RoleClinic},
				DiagnosedAt: start.Add(14 * healthcode.Day), InfectiousFrom: start, InfectiousUntil: start.Add(14 * healthcode.Day), CreatedAt: start}); err != nil {
				return err
			}
		}
		_, err := tx.InsertCheckIns(env.Ctx, cs)
		return err
	})
	return id, err
}

// buildTraceData registers a city of 100,000 people and venues venues and
// stores total check-ins spread over 14 days, in time order.
func buildTraceData(env *bench.Env, n *node, r *rand.Rand, start time.Time, total, venues int) ([]string, error) {
	city, err := sim.New(sim.Config{Seed: 13, People: 100_000})
	if err != nil {
		return nil, err
	}
	if err := registerCity(env.Ctx, n, city); err != nil {
		return nil, err
	}
	owner := &healthcode.Principal{ID: "bench-owner", Name: "bench", Role: healthcode.RoleVenue}
	var ids []string
	for i := 0; i < venues; i++ {
		v, err := n.engine.RegisterVenue(env.Ctx, owner, healthcode.Venue{Name: fmt.Sprintf("场所 %d", i), Address: "金水路", Region: "410105", Category: "retail"})
		if err != nil {
			return nil, err
		}
		ids = append(ids, v.ID)
	}
	subjects := make([]string, city.Size)
	for i := range subjects {
		subjects[i] = n.engine.Keys.Pseudonymize(city.Region, city.Person(i).IDNumber)
	}
	span := int64(14 * 24 * time.Hour)
	const batch = 100_000
	// Check-ins arrive in time order, as they do at a real node.
	step := span / int64(total)
	for done := 0; done < total; done += batch {
		cs := make([]*healthcode.CheckIn, 0, batch)
		for i := 0; i < batch && done+i < total; i++ {
			at := start.Add(time.Duration(int64(done+i)*step + r.Int64N(step+1)))
			cs = append(cs, &healthcode.CheckIn{Venue: ids[r.IntN(len(ids))], Subject: subjects[r.IntN(len(subjects))], At: at, Slot: -1})
		}
		if err := n.db.Update(env.Ctx, func(tx healthcode.Tx) error { _, err := tx.InsertCheckIns(env.Ctx, cs); return err }); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
