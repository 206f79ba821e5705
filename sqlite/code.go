package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"healthcode"
)

// codeHead reads, in one statement, the person, their current decision (the
// decision columns are all zero and present is 0 when they have none),
// whether they have held any decision other than it, and whether any
// restrictive override about them awaits its second signature at ?3. Most
// first requests of the day are answered by it alone.
const codeHead = `SELECT ` + personCols + `,
	d.id IS NOT NULL, coalesce(d.id, 0), coalesce(d.subject, ''), coalesce(d.colour, 0), coalesce(d.reason, ''), coalesce(d.rule_id, ''),
	coalesce(d.ruleset_version, ''), coalesce(d.ruleset_hash, ''), coalesce(d.evidence_ids, ''), coalesce(d.evidence_digest, ''),
	d.lifts_at, coalesce(d.review_at, 0), coalesce(d.decided_at, 0), coalesce(d.log_index, 0), coalesce(d.actor, ''),
	EXISTS (SELECT 1 FROM decisions WHERE subject = ?1 AND id != coalesce(d.id, 0)),
	EXISTS (SELECT 1 FROM override_subjects s JOIN overrides o ON o.id = s.override
		WHERE s.subject = ?1 AND o.status = ?2 AND o.expires > ?3)
	FROM people p LEFT JOIN person_keys k USING (pseudonym)
	LEFT JOIN current_codes c ON c.subject = p.pseudonym
	LEFT JOIN decisions d ON d.id = c.decision_id
	WHERE p.pseudonym = ?1`

// head is what codeHead answers.
type head struct {
	rec *healthcode.CodeRecord
	// others: the person has held a decision other than rec.Decision;
	// pending: an override about them awaits approval.
	others, pending bool
}

// complete reports whether the head is the whole record: no other decision
// to list, no pending override, no evidence cited.
func (h *head) complete() bool {
	return !h.others && !h.pending && (h.rec.Decision == nil || len(h.rec.Decision.EvidenceIDs) == 0)
}

func readHead(row interface{ Scan(...any) error }, pseudonym string) (*head, error) {
	var p healthcode.Person
	var created int64
	var d healthcode.Decision
	var present bool
	var ids string
	var lifts sql.NullInt64
	var review, decided int64
	h := &head{}
	err := row.Scan(&p.Pseudonym, &p.Region, &p.MaskedName, &p.IDHash, &p.Sealed, &created, &p.WrappedKey,
		&present, &d.ID, &d.Subject, &d.Colour, &d.Reason, &d.RuleID, &d.RuleSetVersion, &d.RuleSetHash, &ids, &d.EvidenceDigest,
		&lifts, &review, &decided, &d.LogIndex, &d.Actor,
		&h.others, &h.pending)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", pseudonym)
	} else if err != nil {
		return nil, err
	}
	p.CreatedAt = fromNanos(created)
	h.rec = &healthcode.CodeRecord{Person: &p}
	if present {
		if lifts.Valid {
			l := fromNanos(lifts.Int64)
			d.LiftsAt = &l
		}
		d.ReviewAt, d.DecidedAt = fromNanos(review), fromNanos(decided)
		if d.EvidenceIDs, err = parseIDs(ids); err != nil {
			return nil, err
		}
		h.rec.Decision = &d
		if !h.others && d.Subject == pseudonym {
			// The one decision they have held is the current one.
			h.rec.History = []healthcode.Decision{d.Clone()}
		}
	}
	return h, nil
}

// CodeRecord implements healthcode.ReadTx: one statement for a person with
// no decision but the current one, no pending override and no evidence
// cited; each of those, when present, one more.
func (tx *Tx) CodeRecord(ctx context.Context, pseudonym string, t time.Time) (*healthcode.CodeRecord, error) {
	h, err := readHead(tx.queryRow(ctx, codeHead, pseudonym, healthcode.OverridePending, nanos(t)), pseudonym)
	if err != nil {
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite.CodeRecord: %w", err)
	}
	rec, d := h.rec, h.rec.Decision
	if h.others {
		if rec.History, err = tx.Decisions(ctx, pseudonym); err != nil {
			return nil, err
		}
	}
	if h.pending {
		if rec.Pending, err = tx.PendingOverrides(ctx, pseudonym, t); err != nil {
			return nil, err
		}
	}
	if d != nil && len(d.EvidenceIDs) > 0 {
		list, err := jsonList(d.EvidenceIDs)
		if err != nil {
			return nil, err
		}
		rows, err := tx.query(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE subject = ? AND id IN (SELECT value FROM json_each(?))
			ORDER BY observed_at, id`, pseudonym, list)
		if err != nil {
			return nil, fmt.Errorf("sqlite.CodeRecord: evidence: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvidence(rows)
			if err != nil {
				return nil, fmt.Errorf("sqlite.CodeRecord: evidence: %w", err)
			}
			rec.Evidence = append(rec.Evidence, *e)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite.CodeRecord: evidence: %w", err)
		}
	}
	return rec, nil
}

var _ healthcode.QuickCodeStore = (*DB)(nil)

// QuickCodeRecord implements healthcode.QuickCodeStore: the head statement
// alone, on a reader, in the snapshot of that one statement (no BEGIN, no
// ROLLBACK).
func (db *DB) QuickCodeRecord(ctx context.Context, pseudonym string, t time.Time) (*healthcode.CodeRecord, bool, error) {
	var row *sql.Row
	if s, ok := db.readStmts.lookup(codeHead); ok {
		row = s.QueryRowContext(ctx, pseudonym, healthcode.OverridePending, nanos(t))
	} else {
		row = db.read.QueryRowContext(ctx, codeHead, pseudonym, healthcode.OverridePending, nanos(t))
	}
	h, err := readHead(row, pseudonym)
	if err != nil {
		if healthcode.ErrorCode(err) == healthcode.ENOTFOUND {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("sqlite.QuickCodeRecord: %w", err)
	}
	if !h.complete() {
		return nil, false, nil
	}
	return h.rec, true, nil
}
