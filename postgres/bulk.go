package postgres

import (
	"context"
	"fmt"

	"healthcode"

	"github.com/jackc/pgx/v5"
)

var _ healthcode.BulkLoader = (*DB)(nil)

// bulkCommitRows is how many rows a bulk load writes per transaction: large
// steps, each a few COPYs, that keep the WAL a checkpoint can recycle.
const bulkCommitRows = 1_000_000

// BulkLoad implements healthcode.BulkLoader with COPY: people and their
// keys, the live-code check-ins' keys (checkin_slots) and the check-ins
// stream into their tables (the check-ins into the partitions of their
// days, made first), a million rows per transaction. Each transaction holds
// the log's head, so the engine's writers wait for the load. Every
// constraint is checked as the rows arrive: a repeated person or live-code
// check-in is ECONFLICT, an unknown person or venue ENOTFOUND.
func (db *DB) BulkLoad(ctx context.Context, fn func(healthcode.BulkTx) error) error {
	if db.readOnly {
		return healthcode.Errorfd(healthcode.EFORBIDDEN, "postgres.read_only", "the database is open for reading only")
	}
	b := &bulkTx{db: db}
	defer b.rollback()
	if err := fn(b); err != nil {
		return db.noteWrite(ctx, err)
	}
	return db.noteWrite(ctx, b.commit(ctx))
}

type bulkTx struct {
	db      *DB
	tx      *Tx // nil between steps
	pending int
}

// begin returns the open step, committing it first if it holds
// bulkCommitRows rows or more.
func (b *bulkTx) begin(ctx context.Context) (*Tx, error) {
	if b.tx != nil && b.pending >= bulkCommitRows {
		if err := b.commit(ctx); err != nil {
			return nil, err
		}
	}
	if b.tx == nil {
		pgtx, err := b.db.begin(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
		if err != nil {
			return nil, fmt.Errorf("postgres.BulkLoad: begin: %w", err)
		}
		b.tx, b.pending = &Tx{db: b.db, tx: pgtx, write: true, nextLeaf: -1}, 0
		if _, err := b.tx.LogSize(ctx); err != nil { // the head, locked: writers wait
			return nil, err
		}
	}
	return b.tx, nil
}

func (b *bulkTx) commit(ctx context.Context) error {
	if b.tx == nil {
		return nil
	}
	tx := b.tx
	b.tx = nil
	if err := tx.tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres.BulkLoad: commit: %w", err)
	}
	b.db.notePartitions(tx.newParts)
	return nil
}

func (b *bulkTx) rollback() {
	if b.tx != nil {
		b.tx.tx.Rollback(context.Background())
		b.tx = nil
	}
}

// bulkError names a violated constraint as the domain does.
func bulkError(what string, err error) error {
	switch {
	case isUnique(err):
		return healthcode.Errorfd(healthcode.ECONFLICT, "bulk.exists", "the load repeats %s already stored", what)
	case isForeignKey(err):
		return healthcode.Errorfd(healthcode.ENOTFOUND, "bulk.unknown", "the load's %s name an unknown person or venue", what)
	}
	return fmt.Errorf("postgres.BulkLoad: %s: %w", what, err)
}

// AddPeople implements healthcode.BulkTx.
func (b *bulkTx) AddPeople(ctx context.Context, ps []*healthcode.Person) error {
	for _, p := range ps {
		if err := p.Validate(); err != nil {
			return err
		}
	}
	tx, err := b.begin(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"people"}, []string{"pseudonym", "region", "masked_name", "id_hash", "sealed", "created_at"},
		pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) {
			p := ps[i]
			return []any{p.Pseudonym, p.Region, p.MaskedName, p.IDHash, p.Sealed, nanos(p.CreatedAt)}, nil
		})); err != nil {
		return bulkError("people", err)
	}
	if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"person_keys"}, []string{"pseudonym", "wrapped"},
		pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) { return []any{ps[i].Pseudonym, ps[i].WrappedKey}, nil })); err != nil {
		return bulkError("people", err)
	}
	b.pending += 2 * len(ps)
	return nil
}

// AddCheckIns implements healthcode.BulkTx.
func (b *bulkTx) AddCheckIns(ctx context.Context, cs []*healthcode.CheckIn) error {
	tx, err := b.begin(ctx)
	if err != nil {
		return err
	}
	ats := make([]int64, len(cs))
	var live []*healthcode.CheckIn
	for i, c := range cs {
		ats[i] = nanos(c.At)
		if c.Slot >= 0 {
			live = append(live, c)
		}
	}
	if err := tx.createPartitions(ctx, ats); err != nil {
		return err
	}
	if len(live) > 0 {
		if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"checkin_slots"}, []string{"venue", "subject", "slot", "at"},
			pgx.CopyFromSlice(len(live), func(i int) ([]any, error) {
				c := live[i]
				return []any{c.Venue, c.Subject, c.Slot, nanos(c.At)}, nil
			})); err != nil {
			return bulkError("live-code check-ins", err)
		}
	}
	if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"checkins"}, []string{"venue", "subject", "at", "slot", "verified"},
		pgx.CopyFromSlice(len(cs), func(i int) ([]any, error) {
			c := cs[i]
			return []any{c.Venue, c.Subject, ats[i], c.Slot, c.Verified}, nil
		})); err != nil {
		return bulkError("check-ins", err)
	}
	b.pending += len(cs) + len(live)
	return nil
}
