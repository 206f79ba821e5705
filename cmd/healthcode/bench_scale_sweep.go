package main

import "healthcode"

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
