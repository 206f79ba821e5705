package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"healthcode"
)

const personCols = `p.pseudonym, p.region, p.masked_name, p.id_hash, p.sealed, p.created_at, coalesce(k.wrapped, ''::bytea)`

func scanPerson(row interface{ Scan(...any) error }) (*healthcode.Person, error) {
	var p healthcode.Person
	var created int64
	if err := row.Scan(&p.Pseudonym, &p.Region, &p.MaskedName, &p.IDHash, &p.Sealed, &created, &p.WrappedKey); err != nil {
		return nil, err
	}
	p.CreatedAt = fromNanos(created)
	return &p, nil
}

// Person implements healthcode.ReadTx.
func (tx *Tx) Person(ctx context.Context, pseudonym string) (*healthcode.Person, error) {
	p, err := scanPerson(tx.queryRow(ctx, `SELECT `+personCols+` FROM people p LEFT JOIN person_keys k USING (pseudonym) WHERE p.pseudonym = ?`, pseudonym))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", pseudonym)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Person: %w", err)
	}
	return p, nil
}

// PersonByIDHash implements healthcode.ReadTx.
func (tx *Tx) PersonByIDHash(ctx context.Context, idHash []byte) (*healthcode.Person, error) {
	p, err := scanPerson(tx.queryRow(ctx, `SELECT `+personCols+` FROM people p LEFT JOIN person_keys k USING (pseudonym) WHERE p.id_hash = ?`, idHash))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person with that ID number")
	} else if err != nil {
		return nil, fmt.Errorf("postgres.PersonByIDHash: %w", err)
	}
	return p, nil
}

// PseudonymsByIDHash implements healthcode.ReadTx.
func (tx *Tx) PseudonymsByIDHash(ctx context.Context, idHashes [][]byte) (map[string]string, error) {
	out := make(map[string]string, len(idHashes))
	if len(idHashes) == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT id_hash, pseudonym FROM people WHERE id_hash = ANY(?::bytea[])`, idHashes)
	if err != nil {
		return nil, fmt.Errorf("postgres.PseudonymsByIDHash: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h []byte
		var p string
		if err := rows.Scan(&h, &p); err != nil {
			return nil, fmt.Errorf("postgres.PseudonymsByIDHash: %w", err)
		}
		out[string(h)] = p
	}
	return out, rows.Err()
}

// PeopleCount implements healthcode.ReadTx.
func (tx *Tx) PeopleCount(ctx context.Context) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT count(*) FROM people`).Scan(&n)
	return n, err
}

// Pseudonyms implements healthcode.ReadTx.
func (tx *Tx) Pseudonyms(ctx context.Context, after string, limit int) ([]string, error) {
	return tx.queryStrings(ctx, `SELECT pseudonym FROM people WHERE pseudonym > ? ORDER BY pseudonym LIMIT ?`, after, limit)
}

func (tx *Tx) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CreatePerson implements healthcode.Tx.
func (tx *Tx) CreatePerson(ctx context.Context, p *healthcode.Person) error {
	if err := p.Validate(); err != nil {
		return err
	}
	// ON CONFLICT DO NOTHING: a person registered already is an answer,
	// not an error that would abort the transaction.
	res, err := tx.exec(ctx, `INSERT INTO people (pseudonym, region, masked_name, id_hash, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, p.Pseudonym, p.Region, p.MaskedName, p.IDHash, p.Sealed, nanos(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("postgres.CreatePerson: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ECONFLICT, "person.exists", "person already registered")
	}
	if _, err := tx.exec(ctx, `INSERT INTO person_keys (pseudonym, wrapped) VALUES (?, ?)`, p.Pseudonym, p.WrappedKey); err != nil {
		return fmt.Errorf("postgres.CreatePerson: key: %w", err)
	}
	return nil
}

const evidenceCols = `id, kind, subject, submitter, submitter_name, submitter_role, external_id, observed_at, recorded_at,
	result, pooled, pool_id, diagnosis, case_ref, risk_level, area, dose, venue, verified, duty_until, duty_every`

func scanEvidence(row interface{ Scan(...any) error }) (*healthcode.Evidence, error) {
	var e healthcode.Evidence
	var observed, recorded, until, every int64
	if err := row.Scan(&e.ID, &e.Kind, &e.Subject, &e.Submitter, &e.SubmitterName, &e.SubmitterRole, &e.ExternalID,
		&observed, &recorded, &e.Result, &e.Pooled, &e.PoolID, &e.Diagnosis, &e.CaseRef, &e.RiskLevel, &e.Area, &e.Dose, &e.Venue, &e.Verified,
		&until, &every); err != nil {
		return nil, err
	}
	e.ObservedAt, e.RecordedAt = fromNanos(observed), fromNanos(recorded)
	if until != 0 {
		e.Until = fromNanos(until)
	}
	e.Every = time.Duration(every)
	return &e, nil
}

// Evidence implements healthcode.ReadTx.
func (tx *Tx) Evidence(ctx context.Context, subject string) ([]healthcode.Evidence, error) {
	rows, err := tx.query(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE subject = ? ORDER BY observed_at, id`, subject)
	if err != nil {
		return nil, fmt.Errorf("postgres.Evidence: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Evidence
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.Evidence: %w", err)
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// EvidenceRows implements healthcode.ReadTx.
func (tx *Tx) EvidenceRows(ctx context.Context, after int64, limit int) ([]healthcode.Evidence, error) {
	rows, err := tx.query(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.EvidenceRows: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Evidence
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.EvidenceRows: %w", err)
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// EvidenceOf implements healthcode.ReadTx.
func (tx *Tx) EvidenceOf(ctx context.Context, subjects []string) (map[string][]healthcode.Evidence, error) {
	out := make(map[string][]healthcode.Evidence, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE subject = ANY(?::text[]) ORDER BY subject, observed_at, id`, subjects)
	if err != nil {
		return nil, fmt.Errorf("postgres.EvidenceOf: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.EvidenceOf: %w", err)
		}
		out[e.Subject] = append(out[e.Subject], *e)
	}
	return out, rows.Err()
}

// EvidenceByExternalID implements healthcode.ReadTx.
func (tx *Tx) EvidenceByExternalID(ctx context.Context, submitter, externalID string) (*healthcode.Evidence, error) {
	e, err := scanEvidence(tx.queryRow(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE submitter = ? AND external_id = ?`, submitter, externalID))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "evidence.unknown", "no evidence %q from %q", externalID, submitter)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.EvidenceByExternalID: %w", err)
	}
	return e, nil
}

// InsertEvidence implements healthcode.Tx: one statement for the whole
// batch, its columns passed as arrays (unnest) in the batch's order, so that
// of two rows with the same submitter and external id the first is the one
// written.
func (tx *Tx) InsertEvidence(ctx context.Context, evs []*healthcode.Evidence) ([]bool, error) {
	inserted := make([]bool, len(evs))
	if len(evs) == 0 {
		return inserted, nil
	}
	n := len(evs)
	var (
		kind, subject, submitter, submitterName, submitterRole, externalID = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		result, poolID, diagnosis, caseRef, riskLevel, area, venue         = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		observed, recorded, dose, until, every                             = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		pooled, verified                                                   = make([]bool, n), make([]bool, n)
	)
	for i, e := range evs {
		kind[i], subject[i], submitter[i], submitterName[i], submitterRole[i], externalID[i] = string(e.Kind), e.Subject, e.Submitter, e.SubmitterName, string(e.SubmitterRole), e.ExternalID
		result[i], poolID[i], diagnosis[i], caseRef[i], riskLevel[i], area[i], venue[i] = e.Result, e.PoolID, e.Diagnosis, e.CaseRef, e.RiskLevel, e.Area, e.Venue
		observed[i], recorded[i], dose[i], every[i] = nanos(e.ObservedAt), nanos(e.RecordedAt), int64(e.Dose), int64(e.Every)
		if !e.Until.IsZero() {
			until[i] = nanos(e.Until)
		}
		pooled[i], verified[i] = e.Pooled, e.Verified
	}
	rows, err := tx.query(ctx, `INSERT INTO evidence (kind, subject, submitter, submitter_name, submitter_role, external_id,
		observed_at, recorded_at, result, pooled, pool_id, diagnosis, case_ref, risk_level, area, dose, venue, verified, duty_until, duty_every)
		SELECT kind, subject, submitter, submitter_name, submitter_role, external_id,
			observed_at, recorded_at, result, pooled, pool_id, diagnosis, case_ref, risk_level, area, dose, venue, verified, duty_until, duty_every
		FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::boolean[],
			?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::boolean[], ?::bigint[], ?::bigint[])
			WITH ORDINALITY AS u(kind, subject, submitter, submitter_name, submitter_role, external_id,
			observed_at, recorded_at, result, pooled, pool_id, diagnosis, case_ref, risk_level, area, dose, venue, verified, duty_until, duty_every, ord)
		WHERE EXISTS (SELECT 1 FROM people p WHERE p.pseudonym = u.subject)
		ORDER BY ord
		ON CONFLICT (submitter, external_id) DO NOTHING RETURNING id, submitter, external_id`,
		kind, subject, submitter, submitterName, submitterRole, externalID, observed, recorded, result, pooled,
		poolID, diagnosis, caseRef, riskLevel, area, dose, venue, verified, until, every)
	if err != nil {
		return nil, evidenceError(err)
	}
	type key = struct{ submitter, externalID string }
	ids := make(map[key]int64, len(evs))
	for rows.Next() {
		var k key
		var id int64
		if err := rows.Scan(&id, &k.submitter, &k.externalID); err != nil {
			rows.Close()
			return nil, evidenceError(err)
		}
		ids[k] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, evidenceError(err)
	}
	if len(ids) < len(evs) {
		// Some rows were not written: filed already, or naming no one
		// known. The latter refuses the whole batch, leaving the
		// transaction as it was.
		if err := tx.refuseUnknownSubjects(ctx, subject, "evidence", ids); err != nil {
			return nil, err
		}
	}
	// A key inserted once in this statement belongs to its first row.
	for i, e := range evs {
		k := key{e.Submitter, e.ExternalID}
		if id, ok := ids[k]; ok {
			e.ID, inserted[i] = id, true
			delete(ids, k)
		}
	}
	return inserted, nil
}

// refuseUnknownSubjects returns ENOTFOUND, after deleting the rows just
// written, if a subject is no known person.
func (tx *Tx) refuseUnknownSubjects(ctx context.Context, subjects []string, table string, written map[struct{ submitter, externalID string }]int64) error {
	var unknown int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM unnest(?::text[]) AS s WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.pseudonym = s)`, subjects).Scan(&unknown); err != nil {
		return evidenceError(err)
	}
	if unknown == 0 {
		return nil
	}
	ids := make([]int64, 0, len(written))
	for _, id := range written {
		ids = append(ids, id)
	}
	if _, err := tx.exec(ctx, `DELETE FROM evidence WHERE id = ANY(?::bigint[])`, ids); err != nil {
		return evidenceError(err)
	}
	return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "%s names an unknown person", table)
}

func evidenceError(err error) error {
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "evidence names an unknown person")
	}
	return fmt.Errorf("postgres.InsertEvidence: %w", err)
}

const decisionCols = `id, subject, colour, reason, rule_id, ruleset_version, ruleset_hash, evidence_ids, evidence_digest,
	lifts_at, review_at, decided_at, log_index, actor`

func scanDecision(row interface{ Scan(...any) error }) (*healthcode.Decision, error) {
	var d healthcode.Decision
	var ids string
	var lifts *int64
	var review, decided int64
	if err := row.Scan(&d.ID, &d.Subject, &d.Colour, &d.Reason, &d.RuleID, &d.RuleSetVersion, &d.RuleSetHash, &ids, &d.EvidenceDigest,
		&lifts, &review, &decided, &d.LogIndex, &d.Actor); err != nil {
		return nil, err
	}
	if lifts != nil {
		t := fromNanos(*lifts)
		d.LiftsAt = &t
	}
	d.ReviewAt, d.DecidedAt = fromNanos(review), fromNanos(decided)
	var err error
	d.EvidenceIDs, err = parseIDs(ids)
	return &d, err
}

func formatIDs(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

func parseIDs(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]int64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("postgres: bad evidence id list %q", s)
		}
		out[i] = n
	}
	return out, nil
}

// Decision implements healthcode.ReadTx.
func (tx *Tx) Decision(ctx context.Context, subject string) (*healthcode.Decision, error) {
	d, err := scanDecision(tx.queryRow(ctx, `SELECT `+decisionCols+` FROM decisions
		WHERE id = (SELECT decision_id FROM current_codes WHERE subject = ?)`, subject))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "decision.none", "no decision for %q", subject)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Decision: %w", err)
	}
	return d, nil
}

// DecisionsOf implements healthcode.ReadTx.
func (tx *Tx) DecisionsOf(ctx context.Context, subjects []string) (map[string]*healthcode.Decision, error) {
	out := make(map[string]*healthcode.Decision, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT `+prefixed("d.", decisionCols)+` FROM current_codes c JOIN decisions d ON d.id = c.decision_id
		WHERE c.subject = ANY(?::text[])`, subjects)
	if err != nil {
		return nil, fmt.Errorf("postgres.DecisionsOf: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.DecisionsOf: %w", err)
		}
		out[d.Subject] = d
	}
	return out, rows.Err()
}

// Decisions implements healthcode.ReadTx.
func (tx *Tx) Decisions(ctx context.Context, subject string) ([]healthcode.Decision, error) {
	rows, err := tx.query(ctx, `SELECT `+decisionCols+` FROM decisions WHERE subject = ? ORDER BY id`, subject)
	if err != nil {
		return nil, fmt.Errorf("postgres.Decisions: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.Decisions: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// PutDecision implements healthcode.Tx.
func (tx *Tx) PutDecision(ctx context.Context, d *healthcode.Decision) error {
	var lifts any
	if d.LiftsAt != nil {
		lifts = nanos(*d.LiftsAt)
	}
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO decisions (subject, colour, reason, rule_id, ruleset_version, ruleset_hash, evidence_ids, evidence_digest,
		lifts_at, review_at, decided_at, log_index, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.Subject, d.Colour, d.Reason, d.RuleID, d.RuleSetVersion, d.RuleSetHash, formatIDs(d.EvidenceIDs), d.EvidenceDigest,
		lifts, nanos(d.ReviewAt), nanos(d.DecidedAt), d.LogIndex, d.Actor).Scan(&id)
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", d.Subject)
	} else if err != nil {
		return fmt.Errorf("postgres.PutDecision: %w", err)
	}
	d.ID = id
	_, err = tx.exec(ctx, `INSERT INTO current_codes (subject, decision_id, colour, review_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (subject) DO UPDATE SET decision_id = excluded.decision_id, colour = excluded.colour, review_at = excluded.review_at`,
		d.Subject, id, d.Colour, nanos(d.ReviewAt))
	if err != nil {
		return fmt.Errorf("postgres.PutDecision: current: %w", err)
	}
	return nil
}

// DecisionRows implements healthcode.ReadTx.
func (tx *Tx) DecisionRows(ctx context.Context, after int64, limit int) ([]healthcode.Decision, error) {
	rows, err := tx.query(ctx, `SELECT `+decisionCols+` FROM decisions WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.DecisionRows: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.DecisionRows: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// StaleCurrentCodes implements healthcode.ReadTx.
func (tx *Tx) StaleCurrentCodes(ctx context.Context, limit int) ([]string, error) {
	out, err := tx.queryStrings(ctx, `SELECT c.subject FROM current_codes c LEFT JOIN decisions d ON d.id = c.decision_id
		WHERE d.id IS NULL OR d.subject != c.subject OR d.colour != c.colour
		   OR d.id != (SELECT max(id) FROM decisions WHERE subject = c.subject)
		UNION
		SELECT DISTINCT subject FROM decisions WHERE subject NOT IN (SELECT subject FROM current_codes)
		LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.StaleCurrentCodes: %w", err)
	}
	return out, nil
}

// SetReviewAt implements healthcode.Tx.
func (tx *Tx) SetReviewAt(ctx context.Context, subject string, t time.Time) error {
	var err error
	if subject == "" {
		_, err = tx.exec(ctx, `UPDATE current_codes SET review_at = ?`, nanos(t))
	} else {
		_, err = tx.exec(ctx, `UPDATE current_codes SET review_at = ? WHERE subject = ?`, nanos(t), subject)
	}
	if err != nil {
		return fmt.Errorf("postgres.SetReviewAt: %w", err)
	}
	return nil
}

// DueForReview implements healthcode.ReadTx.
func (tx *Tx) DueForReview(ctx context.Context, t time.Time, limit int) ([]string, error) {
	out, err := tx.queryStrings(ctx, `SELECT subject FROM current_codes WHERE review_at <= ? ORDER BY review_at, subject LIMIT ?`, nanos(t), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.DueForReview: %w", err)
	}
	return out, nil
}

// ColourCounts implements healthcode.ReadTx.
func (tx *Tx) ColourCounts(ctx context.Context) (map[healthcode.Colour]int64, error) {
	rows, err := tx.query(ctx, `SELECT colour, count(*) FROM current_codes GROUP BY colour`)
	if err != nil {
		return nil, fmt.Errorf("postgres.ColourCounts: %w", err)
	}
	defer rows.Close()
	out := map[healthcode.Colour]int64{}
	for rows.Next() {
		var c healthcode.Colour
		var n int64
		if err := rows.Scan(&c, &n); err != nil {
			return nil, err
		}
		out[c] = n
	}
	return out, rows.Err()
}

func scanRuleSet(row interface{ Scan(...any) error }) (*healthcode.RuleSetRecord, error) {
	var r healthcode.RuleSetRecord
	var published int64
	if err := row.Scan(&r.Version, &r.Hash, &r.Source, &published, &r.PublishedBy); err != nil {
		return nil, err
	}
	r.PublishedAt = fromNanos(published)
	return &r, nil
}

// ActiveRuleSet implements healthcode.ReadTx.
func (tx *Tx) ActiveRuleSet(ctx context.Context) (*healthcode.RuleSetRecord, error) {
	r, err := scanRuleSet(tx.queryRow(ctx, `SELECT version, hash, source, published_at, published_by FROM rulesets WHERE active`))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "ruleset.none", "no rule set is in force")
	} else if err != nil {
		return nil, fmt.Errorf("postgres.ActiveRuleSet: %w", err)
	}
	return r, nil
}

// RuleSet implements healthcode.ReadTx.
func (tx *Tx) RuleSet(ctx context.Context, version string) (*healthcode.RuleSetRecord, error) {
	r, err := scanRuleSet(tx.queryRow(ctx, `SELECT version, hash, source, published_at, published_by FROM rulesets WHERE version = ?`, version))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "ruleset.unknown", "no rule set %q", version)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.RuleSet: %w", err)
	}
	return r, nil
}

// PutRuleSet implements healthcode.Tx.
func (tx *Tx) PutRuleSet(ctx context.Context, r *healthcode.RuleSetRecord, activate bool) error {
	if activate {
		if _, err := tx.exec(ctx, `UPDATE rulesets SET active = false WHERE active`); err != nil {
			return fmt.Errorf("postgres.PutRuleSet: %w", err)
		}
	}
	_, err := tx.gexec(ctx, `INSERT INTO rulesets (version, hash, source, published_at, published_by, active) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Version, r.Hash, r.Source, nanos(r.PublishedAt), r.PublishedBy, activate)
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "ruleset.exists", "rule set version %q already published", r.Version)
	} else if err != nil {
		return fmt.Errorf("postgres.PutRuleSet: %w", err)
	}
	return nil
}
