package postgres

import (
	"context"
	"fmt"

	"healthcode"
)

// SubmitReplay implements healthcode.ReadTx.
func (tx *Tx) SubmitReplay(ctx context.Context, submitter, key string) (*healthcode.SubmitReplay, error) {
	r := &healthcode.SubmitReplay{Submitter: submitter, Key: key}
	var at int64
	err := tx.queryRow(ctx, `SELECT digest, outcomes, at FROM submit_replays WHERE submitter = ? AND key = ?`, submitter, key).
		Scan(&r.Digest, &r.Outcomes, &at)
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "submit.unknown_key", "no submission under that key")
	} else if err != nil {
		return nil, fmt.Errorf("postgres.SubmitReplay: %w", err)
	}
	r.At = fromNanos(at)
	return r, nil
}

// PutSubmitReplay implements healthcode.Tx.
func (tx *Tx) PutSubmitReplay(ctx context.Context, r *healthcode.SubmitReplay) error {
	if _, err := tx.exec(ctx, `DELETE FROM submit_replays WHERE submitter = ? AND at < ?`,
		r.Submitter, nanos(r.At.Add(-healthcode.SubmitReplayKept))); err != nil {
		return fmt.Errorf("postgres.PutSubmitReplay: %w", err)
	}
	_, err := tx.gexec(ctx, `INSERT INTO submit_replays (submitter, key, digest, outcomes, at) VALUES (?, ?, ?, ?, ?)`,
		r.Submitter, r.Key, r.Digest, r.Outcomes, nanos(r.At))
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "submit.key_used", "that key has been used")
	} else if err != nil {
		return fmt.Errorf("postgres.PutSubmitReplay: %w", err)
	}
	return nil
}
