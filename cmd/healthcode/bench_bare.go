package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	"healthcode"
	"healthcode/sqlite"
)

// bareInserts is import.results' baseline: the same rows inserted bare into
// a scratch SQLite file of its own (never a node's database), with the
// evidence table's columns and its two indexes, the node's pragmas
// (synchronous=FULL, WAL), one prepared statement per transaction. It is
// bench code: the store exports nothing for it.
type bareInserts struct {
	db *sql.DB
}

func openBareInserts(ctx context.Context, path string) (*bareInserts, error) {
	// The node's schema, by opening the file as a store once.
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	s.Close()
	pragmas := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)", "cache_size(-65536)", "secure_delete(1)"} {
		pragmas.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	// The same columns and the same two indexes as evidence: what storing
	// these rows, findable and unique, costs at the least.
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS bench_evidence AS SELECT * FROM evidence WHERE 0`,
		`CREATE UNIQUE INDEX IF NOT EXISTS bench_evidence_ext ON bench_evidence(submitter, external_id)`,
		`CREATE INDEX IF NOT EXISTS bench_evidence_subject ON bench_evidence(subject, observed_at, id)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("bare inserts: %w", err)
		}
	}
	return &bareInserts{db: db}, nil
}

func (b *bareInserts) Close() error { return b.db.Close() }

// insert inserts evs, batch rows per transaction.
func (b *bareInserts) insert(ctx context.Context, evs []healthcode.Evidence, batch int) error {
	for i := 0; i < len(evs); i += batch {
		tx, err := b.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO bench_evidence (kind, subject, submitter, submitter_name, submitter_role, external_id,
			observed_at, recorded_at, result, pooled, pool_id, diagnosis, case_ref, risk_level, area, dose)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			tx.Rollback()
			return err
		}
		for _, e := range evs[i:min(i+batch, len(evs))] {
			if _, err := stmt.ExecContext(ctx, e.Kind, e.Subject, e.Submitter, e.SubmitterName, e.SubmitterRole, e.ExternalID,
				e.ObservedAt.UnixNano(), e.RecordedAt.UnixNano(), e.Result, e.Pooled, e.PoolID, e.Diagnosis, e.CaseRef, e.RiskLevel, e.Area, e.Dose); err != nil {
				tx.Rollback()
				return err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
