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
	return e.crossesLimit(ctx, tx, subjects, now, e.bulkLimits().People, keys...)
}

// crossesLimit is crossesBulk against another number of people, in the same
// rolling window.
func (e *Engine) crossesLimit(ctx context.Context, tx healthcode.ReadTx, subjects []string, now time.Time, limit int, keys ...healthcode.BulkKey) (bool, error) {
	l := e.bulkLimits()
	l.People = limit
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

// designationPool prefixes the keys the people exposed by risk designations
// are counted under. They count per requester, per approver and per case
// cited, in the same rolling window as overrides and records, but in a pool
// of their own and against the designation bound (DesignationCoSignAbove):
// a venue's visitors are many where an override names few, so a designation
// does not spend an operator's or a case's allowance for overrides, nor do
// overrides spend a designation's.
const designationPool = "designation:"

// designationKeys returns the keys a designation's people count against.
func designationKeys(requester, approver string, cases []string) []healthcode.BulkKey {
	keys := []healthcode.BulkKey{{Requester: designationPool + requester}, {Approver: designationPool + approver}}
	for _, c := range cases {
		keys = append(keys, healthcode.BulkKey{Case: designationPool + c})
	}
	return keys
}

// countDesignation records the people an approved designation exposes,
// against its requester, its approver and each case it cites (one row per
// person and case: a designation citing two cases spends both).
func countDesignation(ctx context.Context, tx healthcode.Tx, id int64, subjects []string, requester, approver string, cases []string, now time.Time) error {
	if len(cases) == 0 {
		cases = []string{""}
	}
	for i, c := range cases {
		kind := healthcode.BulkDesignation
		if i > 0 {
			kind += "@" + c
		}
		if c != "" {
			c = designationPool + c
		}
		es := make([]healthcode.BulkEntry, len(subjects))
		for j, s := range subjects {
			es[j] = healthcode.BulkEntry{Kind: kind, Ref: id, Subject: s, Requester: designationPool + requester,
				Approver: designationPool + approver, Case: c, At: now}
		}
		if err := tx.AddBulk(ctx, es); err != nil {
			return err
		}
	}
	return nil
}
