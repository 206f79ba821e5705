package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// EvidenceSubjects implements healthcode.ReadTx. It walks the evidence's
// (subject, observed_at, id) index, one distinct subject at a time.
func (tx *Tx) EvidenceSubjects(ctx context.Context, after string, limit int) ([]string, error) {
	out, err := tx.queryStrings(ctx, `SELECT DISTINCT subject FROM evidence WHERE subject > ? ORDER BY subject LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite.EvidenceSubjects: %w", err)
	}
	return out, nil
}

// ReviewSweep implements healthcode.ReadTx.
func (tx *Tx) ReviewSweep(ctx context.Context) (version, after string, err error) {
	err = tx.queryRow(ctx, `SELECT version, after FROM review_sweep WHERE id = 1`).Scan(&version, &after)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	} else if err != nil {
		return "", "", fmt.Errorf("sqlite.ReviewSweep: %w", err)
	}
	return version, after, nil
}

// SetReviewSweep implements healthcode.Tx.
func (tx *Tx) SetReviewSweep(ctx context.Context, version, after string) error {
	var err error
	if version == "" {
		_, err = tx.exec(ctx, `DELETE FROM review_sweep`)
	} else {
		_, err = tx.exec(ctx, `INSERT INTO review_sweep (id, version, after) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET version = excluded.version, after = excluded.after`, version, after)
	}
	if err != nil {
		return fmt.Errorf("sqlite.SetReviewSweep: %w", err)
	}
	return nil
}
