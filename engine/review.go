package engine

import (
	"context"
	"time"

	"healthcode"
)

// ReviewBatch is how many people one review transaction re-evaluates.
const ReviewBatch = 500

// Progress is told how far a bulk job has come. total may be -1 if unknown.
type Progress func(done, total int64)

// ReviewDue re-evaluates everyone whose decision is due for review at the
// engine's current time: lift conditions reached, expiries passed, or a new
// rule set in force. It works in batches, each its own transaction, so a crash
// loses at most one batch and a rerun carries on where it stopped. It returns
// how many people were reviewed and how many new decisions were made (under
// a new rule set, everyone gets one: same colour, new rule set).
func (e *Engine) ReviewDue(ctx context.Context, progress Progress) (reviewed, changed int64, err error) {
	if _, _, err := e.ActiveRuleSet(); err != nil {
		return 0, 0, err
	}
	now := e.now()
	var total int64 = -1
	for {
		if err := ctx.Err(); err != nil {
			return reviewed, changed, err
		}
		var due []string
		err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
			var err error
			due, err = tx.DueForReview(ctx, now, ReviewBatch)
			return err
		})
		if err != nil {
			return reviewed, changed, err
		}
		if len(due) == 0 {
			return reviewed, changed, nil
		}
		// People whose stored state disagrees with the log keep the colour
		// they hold (no code is issued for them meanwhile): they are looked
		// at again a minute later, not re-decided on a record in doubt.
		var held, fine []string
		for _, s := range due {
			if e.subjectProblem(s) != nil {
				held = append(held, s)
			} else {
				fine = append(fine, s)
			}
		}
		var batchChanged int64
		err = e.update(ctx, func(u *unit) error {
			for _, s := range held {
				if err := u.tx.SetReviewAt(ctx, s, now.Add(time.Minute)); err != nil {
					return err
				}
			}
			rs, err := e.ruleSetIn(ctx, u.tx)
			if err != nil {
				return err
			}
			ds, err := e.reevaluateAll(ctx, u, rs, fine, now)
			if err != nil {
				return err
			}
			batchChanged = int64(len(u.changed))
			for _, s := range fine {
				if d := ds[s]; d != nil && !d.ReviewAt.After(now) {
					// A rule set that asks for review "now" would spin
					// this loop: push it to the next interval.
					if err := u.tx.SetReviewAt(ctx, s, now.Add(time.Minute)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return reviewed, changed, err
		}
		reviewed += int64(len(due))
		changed += batchChanged
		if progress != nil {
			progress(reviewed, total)
		}
	}
}
