package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"healthcode"

	"github.com/jackc/pgx/v5"
)

const overrideCols = `id, colour, reason, basis, case_ref, note, expires, status,
	requester_id, requester_name, requester_role, requester_unit, approver_id, approver_name, approver_role, approver_unit,
	cosigner_id, cosigner_name, cosigner_role, cosigner_unit, created_at, approved_at, cosign_needed`

func scanOverride(row interface{ Scan(...any) error }) (*healthcode.Override, error) {
	var o healthcode.Override
	var basis string
	var expires, created, approved int64
	var a, c healthcode.Principal
	if err := row.Scan(&o.ID, &o.Colour, &o.Reason, &basis, &o.CaseRef, &o.Note, &expires, &o.Status,
		&o.Requester.ID, &o.Requester.Name, &o.Requester.Role, &o.Requester.Unit, &a.ID, &a.Name, &a.Role, &a.Unit,
		&c.ID, &c.Name, &c.Role, &c.Unit, &created, &approved, &o.BulkCoSign); err != nil {
		return nil, err
	}
	o.Expires, o.CreatedAt = fromNanos(expires), fromNanos(created)
	if a.ID != "" {
		o.Approver = &a
	}
	if c.ID != "" {
		o.CoSigner = &c
	}
	if approved != 0 {
		o.ApprovedAt = fromNanos(approved)
	}
	var err error
	o.Basis, err = parseIDs(basis)
	return &o, err
}

func (tx *Tx) overrideSubjects(ctx context.Context, o *healthcode.Override) error {
	var err error
	o.Subjects, err = tx.queryStrings(ctx, `SELECT subject FROM override_subjects WHERE override = ? ORDER BY subject`, o.ID)
	return err
}

// Override implements healthcode.ReadTx.
func (tx *Tx) Override(ctx context.Context, id int64) (*healthcode.Override, error) {
	o, err := scanOverride(tx.queryRow(ctx, `SELECT `+overrideCols+` FROM overrides WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "override.unknown", "no override %d", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Override: %w", err)
	}
	return o, tx.overrideSubjects(ctx, o)
}

func (tx *Tx) overrides(ctx context.Context, query string, args ...any) ([]healthcode.Override, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []healthcode.Override
	for rows.Next() {
		o, err := scanOverride(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, *o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := tx.overrideSubjects(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Overrides implements healthcode.ReadTx.
func (tx *Tx) Overrides(ctx context.Context, status string, t time.Time) ([]healthcode.Override, error) {
	out, err := tx.overrides(ctx, `SELECT `+overrideCols+` FROM overrides WHERE (? = '' OR status = ?) AND expires > ? ORDER BY id DESC LIMIT 1000`,
		status, status, nanos(t))
	if err != nil {
		return nil, fmt.Errorf("postgres.Overrides: %w", err)
	}
	return out, nil
}

// PendingOverrides implements healthcode.ReadTx.
func (tx *Tx) PendingOverrides(ctx context.Context, subject string, t time.Time) ([]healthcode.Override, error) {
	out, err := tx.overrides(ctx, `SELECT `+prefixed("o.", overrideCols)+` FROM overrides o JOIN override_subjects s ON s.override = o.id
		WHERE s.subject = ? AND o.status = ? AND o.expires > ? ORDER BY o.id DESC`, subject, healthcode.OverridePending, nanos(t))
	if err != nil {
		return nil, fmt.Errorf("postgres.PendingOverrides: %w", err)
	}
	return out, nil
}

// ActiveOverrides implements healthcode.ReadTx.
func (tx *Tx) ActiveOverrides(ctx context.Context, subjects []string, t time.Time) (map[string]*healthcode.Override, error) {
	out := map[string]*healthcode.Override{}
	if len(subjects) == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT s.subject, `+prefixed("o.", overrideCols)+` FROM override_subjects s JOIN overrides o ON o.id = s.override
		WHERE s.subject = ANY(?::text[]) AND o.status = ? AND o.expires > ? ORDER BY o.id`,
		subjects, healthcode.OverrideActive, nanos(t))
	if err != nil {
		return nil, fmt.Errorf("postgres.ActiveOverrides: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var subject string
		o, err := scanOverride(scanPrefix{rows, &subject})
		if err != nil {
			return nil, fmt.Errorf("postgres.ActiveOverrides: %w", err)
		}
		o.Subjects = []string{subject} // the one that matters here
		out[subject] = o               // newest last, so it wins
	}
	return out, rows.Err()
}

// scanPrefix scans one leading column into first, then the rest.
type scanPrefix struct {
	rows  pgx.Rows
	first any
}

func (s scanPrefix) Scan(dest ...any) error { return s.rows.Scan(append([]any{s.first}, dest...)...) }

// prefixed qualifies each column of a column list with a table alias.
func prefixed(p, cols string) string {
	names := strings.Split(strings.Join(strings.Fields(cols), ""), ",")
	return p + strings.Join(names, ", "+p)
}

// CreateOverride implements healthcode.Tx.
func (tx *Tx) CreateOverride(ctx context.Context, o *healthcode.Override) error {
	var approved int64
	if !o.ApprovedAt.IsZero() {
		approved = nanos(o.ApprovedAt)
	}
	err := tx.gqueryRow(ctx, `INSERT INTO overrides (colour, reason, basis, case_ref, note, expires, status,
		requester_id, requester_name, requester_role, requester_unit, created_at, approved_at, cosign_needed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		o.Colour, o.Reason, formatIDs(o.Basis), o.CaseRef, o.Note, nanos(o.Expires), o.Status,
		o.Requester.ID, o.Requester.Name, o.Requester.Role, o.Requester.Unit, nanos(o.CreatedAt), approved, o.BulkCoSign).Scan(&o.ID)
	if err != nil {
		return fmt.Errorf("postgres.CreateOverride: %w", err)
	}
	for _, s := range o.Subjects {
		if _, err := tx.gexec(ctx, `INSERT INTO override_subjects (override, subject) VALUES (?, ?)`, o.ID, s); isForeignKey(err) {
			return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", s)
		} else if isUnique(err) {
			return healthcode.Errorfd(healthcode.EINVALID, "override.subjects", "%q is named twice", s)
		} else if err != nil {
			return fmt.Errorf("postgres.CreateOverride: %w", err)
		}
	}
	return nil
}

func principalCols(p *healthcode.Principal) []any {
	if p == nil {
		return []any{"", "", "", ""}
	}
	return []any{p.ID, p.Name, p.Role, p.Unit}
}

// UpdateOverride implements healthcode.Tx.
func (tx *Tx) UpdateOverride(ctx context.Context, o *healthcode.Override) error {
	args := []any{o.Status, o.BulkCoSign}
	args = append(args, principalCols(o.Approver)...)
	args = append(args, principalCols(o.CoSigner)...)
	var approved int64
	if !o.ApprovedAt.IsZero() {
		approved = nanos(o.ApprovedAt)
	}
	args = append(args, approved, o.ID)
	_, err := tx.exec(ctx, `UPDATE overrides SET status = ?, cosign_needed = ?, approver_id = ?, approver_name = ?, approver_role = ?, approver_unit = ?,
		cosigner_id = ?, cosigner_name = ?, cosigner_role = ?, cosigner_unit = ?, approved_at = ? WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("postgres.UpdateOverride: %w", err)
	}
	return nil
}

const appealCols = `id, subject, kind, note, status, colour, created_at, deadline, answer, answered_by, answered_at, log_index`

func scanAppeal(row interface{ Scan(...any) error }) (*healthcode.Appeal, error) {
	var a healthcode.Appeal
	var created, deadline, answered int64
	if err := row.Scan(&a.ID, &a.Subject, &a.Kind, &a.Note, &a.Status, &a.Colour, &created, &deadline, &a.Answer, &a.AnsweredBy, &answered, &a.LogIndex); err != nil {
		return nil, err
	}
	a.CreatedAt, a.Deadline = fromNanos(created), fromNanos(deadline)
	if answered != 0 {
		a.AnsweredAt = fromNanos(answered)
	}
	return &a, nil
}

func (tx *Tx) appeals(ctx context.Context, query string, args ...any) ([]healthcode.Appeal, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []healthcode.Appeal
	for rows.Next() {
		a, err := scanAppeal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// Appeal implements healthcode.ReadTx.
func (tx *Tx) Appeal(ctx context.Context, id int64) (*healthcode.Appeal, error) {
	a, err := scanAppeal(tx.queryRow(ctx, `SELECT `+appealCols+` FROM appeals WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "appeal.unknown", "no appeal %d", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Appeal: %w", err)
	}
	return a, nil
}

// Appeals implements healthcode.ReadTx.
func (tx *Tx) Appeals(ctx context.Context, subject, status string) ([]healthcode.Appeal, error) {
	out, err := tx.appeals(ctx, `SELECT `+appealCols+` FROM appeals WHERE (? = '' OR subject = ?) AND (? = '' OR status = ?) ORDER BY id DESC LIMIT 1000`,
		subject, subject, status, status)
	if err != nil {
		return nil, fmt.Errorf("postgres.Appeals: %w", err)
	}
	return out, nil
}

// OverdueAppeals implements healthcode.ReadTx.
func (tx *Tx) OverdueAppeals(ctx context.Context, t time.Time) ([]healthcode.Appeal, error) {
	out, err := tx.appeals(ctx, `SELECT `+appealCols+` FROM appeals WHERE status = ? AND deadline < ? ORDER BY deadline LIMIT 1000`,
		healthcode.AppealOpen, nanos(t))
	if err != nil {
		return nil, fmt.Errorf("postgres.OverdueAppeals: %w", err)
	}
	return out, nil
}

// CreateAppeal implements healthcode.Tx.
func (tx *Tx) CreateAppeal(ctx context.Context, a *healthcode.Appeal) error {
	err := tx.gqueryRow(ctx, `INSERT INTO appeals (subject, kind, note, status, colour, created_at, deadline, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.Subject, a.Kind, a.Note, a.Status, a.Colour, nanos(a.CreatedAt), nanos(a.Deadline), a.LogIndex).Scan(&a.ID)
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "appeal.duplicate", "you already have an appeal awaiting an answer")
	} else if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", a.Subject)
	} else if err != nil {
		return fmt.Errorf("postgres.CreateAppeal: %w", err)
	}
	return nil
}

// UpdateAppeal implements healthcode.Tx.
func (tx *Tx) UpdateAppeal(ctx context.Context, a *healthcode.Appeal) error {
	var answered int64
	if !a.AnsweredAt.IsZero() {
		answered = nanos(a.AnsweredAt)
	}
	_, err := tx.exec(ctx, `UPDATE appeals SET status = ?, answer = ?, answered_by = ?, answered_at = ?, log_index = ? WHERE id = ?`,
		a.Status, a.Answer, a.AnsweredBy, answered, a.LogIndex, a.ID)
	if err != nil {
		return fmt.Errorf("postgres.UpdateAppeal: %w", err)
	}
	return nil
}

// RuleSetProposal implements healthcode.ReadTx.
func (tx *Tx) RuleSetProposal(ctx context.Context, version string) (*healthcode.RuleSetProposal, error) {
	var p healthcode.RuleSetProposal
	var at int64
	err := tx.queryRow(ctx, `SELECT version, hash, source, proposed_at, proposer_id, proposer_name, proposer_role, proposer_unit
		FROM ruleset_proposals WHERE version = ?`, version).Scan(&p.Record.Version, &p.Record.Hash, &p.Record.Source, &at,
		&p.ProposedBy.ID, &p.ProposedBy.Name, &p.ProposedBy.Role, &p.ProposedBy.Unit)
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "ruleset.no_proposal", "no rule set %q awaits approval", version)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.RuleSetProposal: %w", err)
	}
	p.Record.PublishedAt = fromNanos(at)
	p.Record.PublishedBy = p.ProposedBy.Name
	return &p, nil
}

// RuleSetProposals implements healthcode.ReadTx.
func (tx *Tx) RuleSetProposals(ctx context.Context) ([]healthcode.RuleSetProposal, error) {
	rows, err := tx.query(ctx, `SELECT version, hash, source, proposed_at, proposer_id, proposer_name, proposer_role, proposer_unit
		FROM ruleset_proposals ORDER BY proposed_at, version`)
	if err != nil {
		return nil, fmt.Errorf("postgres.RuleSetProposals: %w", err)
	}
	defer rows.Close()
	var out []healthcode.RuleSetProposal
	for rows.Next() {
		var p healthcode.RuleSetProposal
		var at int64
		if err := rows.Scan(&p.Record.Version, &p.Record.Hash, &p.Record.Source, &at,
			&p.ProposedBy.ID, &p.ProposedBy.Name, &p.ProposedBy.Role, &p.ProposedBy.Unit); err != nil {
			return nil, fmt.Errorf("postgres.RuleSetProposals: %w", err)
		}
		p.Record.PublishedAt = fromNanos(at)
		p.Record.PublishedBy = p.ProposedBy.Name
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres.RuleSetProposals: %w", err)
	}
	return out, nil
}

// ProposeRuleSet implements healthcode.Tx.
func (tx *Tx) ProposeRuleSet(ctx context.Context, p *healthcode.RuleSetProposal) error {
	if _, err := tx.RuleSet(ctx, p.Record.Version); err == nil {
		return healthcode.Errorfd(healthcode.ECONFLICT, "ruleset.exists", "rule set version %q already published", p.Record.Version)
	}
	_, err := tx.gexec(ctx, `INSERT INTO ruleset_proposals (version, hash, source, proposed_at, proposer_id, proposer_name, proposer_role, proposer_unit)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.Record.Version, p.Record.Hash, p.Record.Source, nanos(p.Record.PublishedAt),
		p.ProposedBy.ID, p.ProposedBy.Name, p.ProposedBy.Role, p.ProposedBy.Unit)
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "ruleset.proposed", "rule set version %q is already proposed", p.Record.Version)
	} else if err != nil {
		return fmt.Errorf("postgres.ProposeRuleSet: %w", err)
	}
	return nil
}

// DeleteRuleSetProposal implements healthcode.Tx.
func (tx *Tx) DeleteRuleSetProposal(ctx context.Context, version string) error {
	if _, err := tx.exec(ctx, `DELETE FROM ruleset_proposals WHERE version = ?`, version); err != nil {
		return fmt.Errorf("postgres.DeleteRuleSetProposal: %w", err)
	}
	return nil
}
