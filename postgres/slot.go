package postgres

import (
	"context"
	"fmt"

	"healthcode"
)

// CountSlot implements healthcode.ReadTx. The time bounds let the
// (venue, at) index, and the partitions, find the rows; slot picks the
// code's among them.
func (tx *Tx) CountSlot(ctx context.Context, venue string, slot int64) (int64, error) {
	from, to := healthcode.SlotValidity(slot)
	var n int64
	if err := tx.queryRow(ctx, `SELECT count(DISTINCT subject) FROM checkins WHERE venue = ? AND at >= ? AND at < ? AND slot = ?`,
		venue, nanos(from), nanos(to), slot).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres.CountSlot: %w", err)
	}
	return n, nil
}

// UnverifySlot implements healthcode.Tx.
func (tx *Tx) UnverifySlot(ctx context.Context, venue string, slot int64) (int64, error) {
	from, to := healthcode.SlotValidity(slot)
	res, err := tx.exec(ctx, `UPDATE checkins SET verified = false WHERE venue = ? AND at >= ? AND at < ? AND slot = ? AND verified`,
		venue, nanos(from), nanos(to), slot)
	if err != nil {
		return 0, fmt.Errorf("postgres.UnverifySlot: %w", err)
	}
	return res.RowsAffected()
}
