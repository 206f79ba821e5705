package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"healthcode"
	"healthcode/bench"
	"healthcode/sim"
)

// roundBudget is what a 10-million-person testing round may take through
// `healthcode import`: six minutes (issue 16), scaled to the round's size.
const (
	roundBudget       = 6 * time.Minute
	roundBudgetPeople = 10_000_000
)

// benchImportRound imports a whole testing round's results through
// `healthcode import` (the command, on the node's data directory, with its
// progress bar when stderr is a terminal): pooled tubes of ten, every
// result validated against its collection, stored, logged, and everyone
// affected re-evaluated, in chunks with the progress recorded after each.
// The samples were collected before (not timed). The figure is the seconds
// it takes, against the budget of six minutes for ten million people scaled
// to the round's size (--round-people; ten million under --scale).
func benchImportRound(env *bench.Env) (bench.Result, error) {
	people := env.RoundPeople
	if people <= 0 {
		people = 100_000
		if env.Scale {
			people = roundBudgetPeople
		}
	}
	now := time.Now().UTC()
	start := now.Add(-24 * time.Hour)
	cfg := defaultConfig()
	cfg.DataDir, cfg.Addr = filepath.Join(env.Dir, "import-round"), "127.0.0.1:0"
	n, err := benchNodeWith(env, cfg, healthcode.SystemClock{})
	if err != nil {
		return bench.Result{}, err
	}
	closed := false
	defer func() {
		if !closed {
			n.close()
		}
	}()
	city, err := sim.New(sim.Config{Seed: 21, People: people, Start: start})
	if err != nil {
		return bench.Result{}, err
	}
	env.Logf("import.round", "registering %d people and collecting their samples…", people)
	if err := registerCity(env.Ctx, n, city); err != nil {
		return bench.Result{}, err
	}
	lab, sampler := city.Labs[0].Principal(), city.Samplers[0].Principal()
	file := filepath.Join(env.Dir, "round.csv")
	f, err := os.Create(file)
	if err != nil {
		return bench.Result{}, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "tube_id,kind,result")
	var cols []healthcode.CollectionRequest
	collect := func() error {
		outs, err := n.engine.Collect(env.Ctx, &sampler, cols)
		if err != nil {
			return err
		}
		for _, o := range outs {
			if o.Status != healthcode.Accepted {
				return fmt.Errorf("collection %d: %s %v", o.Line, o.Status, o.Err)
			}
		}
		cols = cols[:0]
		return nil
	}
	tubes, line := 0, 0
	for r := range city.TestingRound(start, city.Samplers[0], city.Labs[0], true) {
		cols = append(cols, r.Collection(line))
		line++
		if r.LastInTube {
			fmt.Fprintf(w, "%s,%s,%s\n", r.Tube, r.Kind, r.Result)
			tubes++
		}
		if len(cols) == 5000 {
			if err := collect(); err != nil {
				return bench.Result{}, err
			}
		}
	}
	if err := collect(); err != nil {
		return bench.Result{}, err
	}
	if err := w.Flush(); err != nil {
		return bench.Result{}, err
	}
	if err := f.Close(); err != nil {
		return bench.Result{}, err
	}
	token, err := n.engine.CreateToken(env.Ctx, &lab)
	if err != nil {
		return bench.Result{}, err
	}
	n.close()
	closed = true
	env.Logf("import.round", "importing %d tubes (%d people's results) with healthcode import…", tubes, people)
	var code int
	var secs float64
	if err := env.Profile(func() error {
		t := time.Now()
		code = runImport(env.Ctx, []string{"--data", cfg.DataDir, "--token", token, file}, io.Discard, env.Stderr)
		secs = time.Since(t).Seconds()
		return nil
	}); err != nil {
		return bench.Result{}, err
	}
	if code != exitOK {
		return bench.Result{}, fmt.Errorf("healthcode import exited %d", code)
	}
	budget := roundBudget.Seconds() * float64(people) / roundBudgetPeople
	return bench.Result{Value: secs, Unit: "s", Baseline: fmt.Sprintf("6 min per 10M people, for %d", people), BaselineValue: budget,
		Ratio: budget / secs, Target: 1, Lower: true, Rounds: 1,
		Extra: map[string]float64{"people": float64(people), "tubes": float64(tubes), "results_per_s": float64(people) / secs}}, nil
}
