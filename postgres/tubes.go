package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"healthcode"
)

// TubesOf implements healthcode.ReadTx: two statements (the tubes, then
// their collections) for a batch of any size.
func (tx *Tx) TubesOf(ctx context.Context, ids []string) (map[string]*healthcode.TubeSamples, error) {
	out := make(map[string]*healthcode.TubeSamples, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT id, mixed, unit, members, result_by, result_kind, result, result_at FROM tubes
		WHERE id = ANY(?::text[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres.TubesOf: %w", err)
	}
	for rows.Next() {
		ts := &healthcode.TubeSamples{}
		t := &ts.Tube
		var at int64
		if err := rows.Scan(&t.ID, &t.Mixed, &t.Unit, &t.Members, &t.ResultBy, &t.ResultKind, &t.Result, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres.TubesOf: %w", err)
		}
		if at != 0 {
			t.ResultAt = fromNanos(at)
		}
		out[t.ID] = ts
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres.TubesOf: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	rows, err = tx.query(ctx, `SELECT `+collectionCols+` FROM collections c JOIN tubes t ON t.id = c.tube
		WHERE c.tube = ANY(?::text[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres.TubesOf: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c healthcode.Collection
		var collected, recorded int64
		if err := rows.Scan(&c.ID, &c.Tube, &c.Mixed, &c.Subject, &c.Site, &c.Collector, &c.CollectorName, &c.CollectorUnit, &collected, &recorded); err != nil {
			return nil, fmt.Errorf("postgres.TubesOf: %w", err)
		}
		c.CollectedAt, c.RecordedAt = fromNanos(collected), fromNanos(recorded)
		if ts := out[c.Tube]; ts != nil {
			ts.Members = append(ts.Members, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres.TubesOf: %w", err)
	}
	// In the order recorded: sorted here, tube by tube, rather than by a
	// sort of the whole batch's rows in the database.
	for _, ts := range out {
		slices.SortFunc(ts.Members, func(a, b healthcode.Collection) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}
