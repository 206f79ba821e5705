package postgres

import (
	"context"
	"fmt"
	"time"

	"healthcode"
)

// bucketOf is the SQL of the bucket a time column falls in: its offset
// from the window's start in whole buckets (arguments: since, bucket).
func bucketOf(col string) string { return "((" + col + " - ?) / ?)" }

// DecisionCounts implements healthcode.ReadTx.
func (tx *Tx) DecisionCounts(ctx context.Context, q healthcode.DashboardQuery) ([]healthcode.DecisionCount, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	since, bucket := nanos(q.Since), int64(q.Bucket)
	rows, err := tx.query(ctx, `SELECT `+bucketOf("decided_at")+` AS b, colour, reason, count(*) FROM decisions
		WHERE decided_at >= ? AND decided_at < ? GROUP BY b, colour, reason ORDER BY b, colour, reason`,
		since, bucket, since, nanos(q.Until))
	if err != nil {
		return nil, fmt.Errorf("postgres.DecisionCounts: %w", err)
	}
	defer rows.Close()
	var out []healthcode.DecisionCount
	for rows.Next() {
		var b int64
		var c healthcode.DecisionCount
		if err := rows.Scan(&b, &c.Colour, &c.Reason, &c.Count); err != nil {
			return nil, fmt.Errorf("postgres.DecisionCounts: %w", err)
		}
		c.Bucket = q.Since.Add(time.Duration(b) * q.Bucket).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// restrictiveActions is every restrictive action as (kind, official, name,
// unit, time, people): a union over the tables that record who acted. A
// record confirmed by a second epidemiologist becomes evidence: that
// evidence is counted as the record's request and confirmation, not again
// as a submission.
const restrictiveActions = `
SELECT 'override_request' AS kind, requester_id AS official, requester_name AS name, requester_unit AS unit, created_at AS at,
	(SELECT count(*) FROM override_subjects s WHERE s.override = o.id) AS people
	FROM overrides o WHERE colour >= 2
UNION ALL
SELECT 'override_approval', approver_id, approver_name, approver_unit, approved_at,
	(SELECT count(*) FROM override_subjects s WHERE s.override = o.id)
	FROM overrides o WHERE colour >= 2 AND approver_id != '' AND approved_at != 0
UNION ALL
SELECT 'designation_request', requester_id, requester_name, requester_unit, created_at, greatest(exposures, 0) FROM designations
UNION ALL
SELECT 'designation_approval', approver_id, approver_name, approver_unit, approved_at, greatest(exposures, 0) FROM designations
	WHERE approver_id != '' AND approved_at != 0
UNION ALL
SELECT 'record_request', requester_id, requester_name, requester_unit, created_at, 1 FROM pending_records
UNION ALL
SELECT 'record_confirmation', confirmer_id, confirmer_name, confirmer_unit, decided_at, 1 FROM pending_records
	WHERE status = 'in_force' AND confirmer_id != ''
UNION ALL
SELECT CASE WHEN e.kind = 'diagnosis' THEN 'diagnosis' WHEN e.result = 'positive' THEN 'positive_result' ELSE 'contact' END,
	e.submitter, e.submitter_name, coalesce(o.unit, ''), e.recorded_at, 1
	FROM evidence e LEFT JOIN officials o ON o.id = e.submitter
	WHERE ((e.kind IN ('nucleic_acid_test', 'antigen_test') AND e.result = 'positive')
		OR (e.kind = 'diagnosis' AND e.diagnosis IN ('suspected', 'confirmed', 'asymptomatic'))
		OR e.kind IN ('close_contact', 'secondary_contact', 'travel', 'quarantine_start'))
	AND NOT EXISTS (SELECT 1 FROM pending_records p WHERE p.evidence_id = e.id)`

// RestrictiveActions implements healthcode.ReadTx.
func (tx *Tx) RestrictiveActions(ctx context.Context, q healthcode.DashboardQuery) ([]healthcode.ActionCount, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	since, bucket := nanos(q.Since), int64(q.Bucket)
	rows, err := tx.query(ctx, `SELECT `+bucketOf("at")+` AS b, kind, official, name, unit, count(*), sum(people)
		FROM (`+restrictiveActions+`) AS actions WHERE at >= ? AND at < ?
		GROUP BY b, kind, official, name, unit ORDER BY b, kind, official, name, unit`,
		since, bucket, since, nanos(q.Until))
	if err != nil {
		return nil, fmt.Errorf("postgres.RestrictiveActions: %w", err)
	}
	defer rows.Close()
	var out []healthcode.ActionCount
	for rows.Next() {
		var b int64
		var a healthcode.ActionCount
		if err := rows.Scan(&b, &a.Kind, &a.Official, &a.Name, &a.Unit, &a.Count, &a.People); err != nil {
			return nil, fmt.Errorf("postgres.RestrictiveActions: %w", err)
		}
		a.Bucket = q.Since.Add(time.Duration(b) * q.Bucket).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// AppealsFiled implements healthcode.ReadTx.
func (tx *Tx) AppealsFiled(ctx context.Context, since, until time.Time, limit int) ([]healthcode.Appeal, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := tx.appeals(ctx, `SELECT `+appealCols+` FROM appeals WHERE created_at >= ? AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		nanos(since), nanos(until), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.AppealsFiled: %w", err)
	}
	return out, nil
}
