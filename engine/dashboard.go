package engine

import (
	"context"

	"healthcode"
)

// The auditor's dashboard: counts read from the store, and the log as its
// public leaves say it. Neither opens a person's data, so neither is
// recorded as a read; opening an entry is (OpenLogEntry).

func auditorOnly(actor *healthcode.Principal, what string) error {
	if actor == nil || actor.Role != healthcode.RoleAuditor {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "auth.role", "only oversight (an auditor) %s", what)
	}
	return nil
}

// Dashboard returns the figures of the auditor's dashboard for the window
// of q: decisions by colour and reason, restrictive actions by official,
// the appeals filed, and the colours held now. Returns EFORBIDDEN for
// anyone but an auditor, EINVALID for a bad window.
func (e *Engine) Dashboard(ctx context.Context, actor *healthcode.Principal, q healthcode.DashboardQuery) (*healthcode.Dashboard, error) {
	if err := auditorOnly(actor, "reads the dashboard"); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	d := &healthcode.Dashboard{Query: q}
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		var err error
		if d.Decisions, err = tx.DecisionCounts(ctx, q); err != nil {
			return err
		}
		if d.Actions, err = tx.RestrictiveActions(ctx, q); err != nil {
			return err
		}
		if d.Appeals, err = tx.AppealsFiled(ctx, q.Since, q.Until, healthcode.MaxDashboardAppeals); err != nil {
			return err
		}
		d.Colours, err = tx.ColourCounts(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// logChunk is how many leaves LogEntries reads at a time.
const logChunk = 256

// LogEntries browses the log for an auditor: the entries matching q, newest
// first, as their public leaves say (committed fields stay committed). It
// reads at most MaxLogBrowseScan leaves going back from q.Before (the log's
// end if 0, or the first entry at or after q.Until), and stops at the
// first entry before q.Since (entries are appended in time order). A leaf
// that does not decode is left out: the node's audit reports it. Returns
// EFORBIDDEN for anyone but an auditor, EINVALID for a bad query.
func (e *Engine) LogEntries(ctx context.Context, actor *healthcode.Principal, q healthcode.LogQuery) (*healthcode.LogPage, error) {
	if err := auditorOnly(actor, "browses the log"); err != nil {
		return nil, err
	}
	if q.Type != "" && !q.Type.Known() {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "log.type", "unknown type of log entry %q", q.Type)
	}
	if q.Before < 0 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "log.before", "before must be a non-negative index")
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "log.window", "the window must end after it starts")
	}
	if q.Limit <= 0 || q.Limit > healthcode.MaxLogBrowse {
		q.Limit = healthcode.MaxLogBrowse
	}
	page := &healthcode.LogPage{Next: -1}
	err := e.Store.View(ctx, func(tx healthcode.ReadTx) error {
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		page.Size = size
		end := size
		if q.Before > 0 && q.Before < end {
			end = q.Before
		}
		if !q.Until.IsZero() {
			if end, err = e.firstAtOrAfter(ctx, tx, end, q); err != nil {
				return err
			}
		}
		page.From = end
		scanned := 0
		for end > 0 && scanned < healthcode.MaxLogBrowseScan && len(page.Entries) < q.Limit {
			start := max(end-logChunk, 0)
			rs, err := tx.LogRecords(ctx, start, int(end-start))
			if err != nil {
				return err
			}
			for i := len(rs) - 1; i >= 0 && scanned < healthcode.MaxLogBrowseScan && len(page.Entries) < q.Limit; i-- {
				idx := start + int64(i)
				scanned++
				page.From = idx
				if rs[i].Leaf == nil {
					continue
				}
				le, err := e.Log.Decode(rs[i].Leaf)
				if err != nil {
					continue
				}
				le.Index = idx
				if !q.Since.IsZero() && le.Time.Before(q.Since) {
					page.Next = -1
					return nil
				}
				if matches(le, &q) {
					page.Entries = append(page.Entries, *le)
				}
			}
			end = start
		}
		if page.From > 0 {
			page.Next = page.From
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// firstAtOrAfter finds, by binary search on the leaves' times below end,
// the first entry at or after q.Until (end if none is).
func (e *Engine) firstAtOrAfter(ctx context.Context, tx healthcode.ReadTx, end int64, q healthcode.LogQuery) (int64, error) {
	lo, hi := int64(0), end
	for lo < hi {
		mid := lo + (hi-lo)/2
		leaf, err := tx.LogLeaf(ctx, mid)
		if err != nil {
			return 0, err
		}
		le, err := e.Log.Decode(leaf)
		if err != nil || le.Time.Before(q.Until) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func matches(le *healthcode.LogEntry, q *healthcode.LogQuery) bool {
	if q.Type != "" && le.Type != q.Type {
		return false
	}
	if q.Official == "" && q.Unit == "" {
		return true
	}
	_, id, unit, ok := healthcode.SplitActorLabel(le.ActorName)
	return ok && (q.Official == "" || id == q.Official) && (q.Unit == "" || unit == q.Unit)
}
