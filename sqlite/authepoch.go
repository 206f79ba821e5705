package sqlite

import (
	"context"
	"fmt"
)

// AuthEpoch implements healthcode.ReadTx: the triggers of migration 0025
// move it with every change to tokens and officials.
func (tx *Tx) AuthEpoch(ctx context.Context) (int64, error) {
	var n int64
	if err := tx.queryRow(ctx, `SELECT n FROM auth_epoch WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite.AuthEpoch: %w", err)
	}
	return n, nil
}
