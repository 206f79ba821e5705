package main

import (
	"os"
	"path/filepath"
	"runtime/pprof"

	"healthcode"
)

// startSweep starts the re-evaluation of everyone with evidence after the
// publication of version, when the publication did not start it (on main a
// publication marks only the decision holders for review: the sweep's start
// is off until the false alerts it raised in the Zhengzhou scenario are
// understood; docs/benchmarks.md, City scale). reeval.city measures the
// re-evaluation of the same people as its baseline reads: everyone with
// evidence.
func (b *cityBench) startSweep(version string) error {
	ctx := b.env.Ctx
	return b.n.db.Update(ctx, func(tx healthcode.Tx) error {
		v, _, err := tx.ReviewSweep(ctx)
		if err != nil || v != "" {
			return err
		}
		return tx.SetReviewSweep(ctx, version, "")
	})
}

// profile writes a CPU profile of fn into --profile-dir as NAME.pprof, when
// the flag is set (the city's figures are measured once, not in rounds).
func (b *cityBench) profile(name string, fn func() error) error {
	if b.env.ProfileDir == "" {
		return fn()
	}
	f, err := os.Create(filepath.Join(b.env.ProfileDir, name+".pprof"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	err = fn()
	pprof.StopCPUProfile()
	return err
}
