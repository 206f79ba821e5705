package engine

import (
	"context"
	"time"

	"healthcode"
)

// bulkLimits returns the limits in force, defaults filled in.
func (e *Engine) bulkLimits() healthcode.BulkLimits {
	l := e.Bulk
	if l.People <= 0 {
		l.People = healthcode.BulkLimit
	}
	if l.Window <= 0 {
		l.Window = healthcode.DefaultBulkWindow
	}
	return l
}

// crossesBulk reports whether naming subjects would take any of the keys
// past the bulk limit: the distinct people already counted against the key
// in the rolling window, together with these, number more than the limit.
// Splitting a list into small requests, across cases or across approvers
// does not evade it: each requester, approver and case is counted on its own.
func (e *Engine) crossesBulk(ctx context.Context, tx healthcode.ReadTx, subjects []string, now time.Time, keys ...healthcode.BulkKey) (bool, error) {
	l := e.bulkLimits()
	if len(subjects) > l.People {
		return true, nil
	}
	for _, k := range keys {
		if k == (healthcode.BulkKey{}) {
			continue
		}
		have, err := tx.BulkPeople(ctx, k, now.Add(-l.Window))
		if err != nil {
			return false, err
		}
		seen := make(map[string]bool, len(have)+len(subjects))
		for _, s := range have {
			seen[s] = true
		}
		for _, s := range subjects {
			seen[s] = true
		}
		if len(seen) > l.People {
			return true, nil
		}
	}
	return false, nil
}

// countBulk records the people a restrictive request names, against its
// requester and case.
func countBulk(ctx context.Context, tx healthcode.Tx, kind string, ref int64, subjects []string, requester, caseID string, now time.Time) error {
	es := make([]healthcode.BulkEntry, len(subjects))
	for i, s := range subjects {
		es[i] = healthcode.BulkEntry{Kind: kind, Ref: ref, Subject: s, Requester: requester, Case: caseID, At: now}
	}
	return tx.AddBulk(ctx, es)
}
