package engine

import (
	"context"
	"slices"
	"time"

	"healthcode"
)

// ReviewBatch is how many people one review transaction re-evaluates.
const ReviewBatch = 500

// SweepBatch is how many people with evidence one transaction of the sweep
// after a rule-set publication re-evaluates.
const SweepBatch = 2000

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
			break
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
	swept, sweptChanged, err := e.sweep(ctx, now, reviewed, progress)
	return reviewed + swept, changed + sweptChanged, err
}

// sweep carries on the re-evaluation of everyone with evidence that a
// rule-set publication started (publish), a batch per transaction with the
// sweep's progress recorded in it: a person whose evidence gave the old rule
// set's default holds no decision to mark for review, yet the new rule set
// may give them another colour. People without evidence need nothing: they
// hold the default of the rule set in force, computed when asked (Code).
// Those who hold a decision are the due review's. It returns how many people
// it re-evaluated and how many decisions changed.
func (e *Engine) sweep(ctx context.Context, now time.Time, before int64, progress Progress) (swept, changed int64, err error) {
	for {
		if err := ctx.Err(); err != nil {
			return swept, changed, err
		}
		var version, after string
		var subjects []string
		err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
			var err error
			if version, after, err = tx.ReviewSweep(ctx); err != nil || version == "" {
				return err
			}
			subjects, err = tx.EvidenceSubjects(ctx, after, SweepBatch)
			return err
		})
		if err != nil {
			return swept, changed, err
		}
		if version == "" {
			return swept, changed, nil
		}
		var held, fine []string
		for _, s := range subjects {
			if e.subjectProblem(s) != nil {
				held = append(held, s)
			} else {
				fine = append(fine, s)
			}
		}
		var batchChanged, batchSwept int64
		err = e.update(ctx, func(u *unit) error {
			// Only the sweep this batch was read for moves on: a rule set
			// published meanwhile started its own from the beginning.
			v, a, err := u.tx.ReviewSweep(ctx)
			if err != nil {
				return err
			}
			if v != version || a != after {
				return nil
			}
			rs, err := e.ruleSetIn(ctx, u.tx)
			if err != nil {
				return err
			}
			if len(subjects) == 0 {
				return u.tx.SetReviewSweep(ctx, "", "")
			}
			// A person whose record is in doubt keeps their colour; the
			// due review looks at them again a minute later.
			for _, s := range held {
				if err := u.tx.SetReviewAt(ctx, s, now.Add(time.Minute)); err != nil {
					return err
				}
			}
			// Those who hold a decision were due at the publication and
			// are the due review's (above): the sweep is for the others.
			cur, err := u.tx.DecisionsOf(ctx, fine)
			if err != nil {
				return err
			}
			fine = slices.DeleteFunc(fine, func(s string) bool { return cur[s] != nil })
			batchSwept = int64(len(fine))
			if _, err := e.reevaluateAll(ctx, u, rs, fine, now); err != nil {
				return err
			}
			batchChanged = int64(len(u.changed))
			return u.tx.SetReviewSweep(ctx, version, subjects[len(subjects)-1])
		})
		if err != nil {
			return swept, changed, err
		}
		swept += batchSwept
		changed += batchChanged
		if progress != nil && batchSwept > 0 {
			progress(before+swept, -1)
		}
	}
}
