package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"healthcode"
)

// codeHead reads, in one statement, the person, their current decision (the
// decision columns are all zero and present is false when they have none),
// how many decisions they have held and the newest one's id, and whether any
// restrictive override about them awaits its second signature at ?3. Most
// first requests of the day are answered by it alone: one round trip.
const codeHead = `SELECT ` + personCols + `,
	d.id IS NOT NULL, coalesce(d.id, 0), coalesce(d.subject, ''), coalesce(d.colour, 0), coalesce(d.reason, ''), coalesce(d.rule_id, ''),
	coalesce(d.ruleset_version, ''), coalesce(d.ruleset_hash, ''), coalesce(d.evidence_ids, ''), coalesce(d.evidence_digest, ''),
	d.lifts_at, coalesce(d.review_at, 0), coalesce(d.decided_at, 0), coalesce(d.log_index, 0), coalesce(d.actor, ''),
	(SELECT count(*) FROM decisions WHERE subject = ?1),
	coalesce((SELECT max(id) FROM decisions WHERE subject = ?1), 0),
	EXISTS (SELECT 1 FROM override_subjects s JOIN overrides o ON o.id = s.override
		WHERE s.subject = ?1 AND o.status = ?2 AND o.expires > ?3)
	FROM people p LEFT JOIN person_keys k USING (pseudonym)
	LEFT JOIN current_codes c ON c.subject = p.pseudonym
	LEFT JOIN decisions d ON d.id = c.decision_id
	WHERE p.pseudonym = ?1`

// CodeRecord implements healthcode.ReadTx: one statement for a person with
// no decision history beyond the current decision, no pending override and
// no evidence cited; each of those, when present, one more.
func (tx *Tx) CodeRecord(ctx context.Context, pseudonym string, t time.Time) (*healthcode.CodeRecord, error) {
	var p healthcode.Person
	var created int64
	var d healthcode.Decision
	var present, pending bool
	var ids string
	var lifts *int64
	var review, decided, count, last int64
	err := tx.queryRow(ctx, codeHead, pseudonym, healthcode.OverridePending, nanos(t)).Scan(
		&p.Pseudonym, &p.Region, &p.MaskedName, &p.IDHash, &p.Sealed, &created, &p.WrappedKey,
		&present, &d.ID, &d.Subject, &d.Colour, &d.Reason, &d.RuleID, &d.RuleSetVersion, &d.RuleSetHash, &ids, &d.EvidenceDigest,
		&lifts, &review, &decided, &d.LogIndex, &d.Actor,
		&count, &last, &pending)
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", pseudonym)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.CodeRecord: %w", err)
	}
	p.CreatedAt = fromNanos(created)
	rec := &healthcode.CodeRecord{Person: &p}
	if present {
		if lifts != nil {
			l := fromNanos(*lifts)
			d.LiftsAt = &l
		}
		d.ReviewAt, d.DecidedAt = fromNanos(review), fromNanos(decided)
		if d.EvidenceIDs, err = parseIDs(ids); err != nil {
			return nil, fmt.Errorf("postgres.CodeRecord: %w", err)
		}
		rec.Decision = &d
	}
	switch {
	case count == 0:
	case count == 1 && present && last == d.ID:
		// The one decision they have held is the current one.
		h := d
		if d.LiftsAt != nil {
			l := *d.LiftsAt
			h.LiftsAt = &l
		}
		h.EvidenceIDs = slices.Clone(d.EvidenceIDs)
		rec.History = []healthcode.Decision{h}
	default:
		if rec.History, err = tx.Decisions(ctx, pseudonym); err != nil {
			return nil, err
		}
	}
	if pending {
		if rec.Pending, err = tx.PendingOverrides(ctx, pseudonym, t); err != nil {
			return nil, err
		}
	}
	if present && len(d.EvidenceIDs) > 0 {
		rows, err := tx.query(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE subject = ? AND id = ANY(?::bigint[])
			ORDER BY observed_at, id`, pseudonym, d.EvidenceIDs)
		if err != nil {
			return nil, fmt.Errorf("postgres.CodeRecord: evidence: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvidence(rows)
			if err != nil {
				return nil, fmt.Errorf("postgres.CodeRecord: evidence: %w", err)
			}
			rec.Evidence = append(rec.Evidence, *e)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("postgres.CodeRecord: evidence: %w", err)
		}
	}
	return rec, nil
}
