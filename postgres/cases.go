package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"healthcode"
)

const caseCols = `id, subject, diagnosis, clinic_id, clinic_name, clinic_role, clinic_unit, diagnosed_at,
	infectious_from, infectious_until, created_at, log_index`

func scanCase(row interface{ Scan(...any) error }) (*healthcode.Case, error) {
	var c healthcode.Case
	var dx, from, until, created int64
	if err := row.Scan(&c.ID, &c.Subject, &c.Diagnosis, &c.Clinic.ID, &c.Clinic.Name, &c.Clinic.Role, &c.Clinic.Unit,
		&dx, &from, &until, &created, &c.LogIndex); err != nil {
		return nil, err
	}
	c.DiagnosedAt, c.InfectiousFrom, c.InfectiousUntil, c.CreatedAt = fromNanos(dx), fromNanos(from), fromNanos(until), fromNanos(created)
	return &c, nil
}

// Case implements healthcode.ReadTx.
func (tx *Tx) Case(ctx context.Context, id string) (*healthcode.Case, error) {
	c, err := scanCase(tx.queryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "case.unknown", "no case %q", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Case: %w", err)
	}
	return c, nil
}

// CasesOf implements healthcode.ReadTx.
func (tx *Tx) CasesOf(ctx context.Context, subject string) ([]healthcode.Case, error) {
	rows, err := tx.query(ctx, `SELECT `+caseCols+` FROM cases WHERE subject = ? ORDER BY created_at, id`, subject)
	if err != nil {
		return nil, fmt.Errorf("postgres.CasesOf: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.CasesOf: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// CreateCase implements healthcode.Tx.
func (tx *Tx) CreateCase(ctx context.Context, c *healthcode.Case) error {
	_, err := tx.gexec(ctx, `INSERT INTO cases (`+caseCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Subject, c.Diagnosis, c.Clinic.ID, c.Clinic.Name, c.Clinic.Role, c.Clinic.Unit, nanos(c.DiagnosedAt),
		nanos(c.InfectiousFrom), nanos(c.InfectiousUntil), nanos(c.CreatedAt), c.LogIndex)
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "case.exists", "case %q exists", c.ID)
	} else if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", c.Subject)
	} else if err != nil {
		return fmt.Errorf("postgres.CreateCase: %w", err)
	}
	return nil
}

const pendingCols = `id, evidence, link_kind, link_venue, link_via, case_id, status, cosign_needed,
	requester_id, requester_name, requester_role, requester_unit, confirmer_id, confirmer_name, confirmer_role, confirmer_unit,
	cosigner_id, cosigner_name, cosigner_role, cosigner_unit, created_at, decided_at, evidence_id`

func optPrincipal(p healthcode.Principal) *healthcode.Principal {
	if p.ID == "" {
		return nil
	}
	return &p
}

func scanPending(row interface{ Scan(...any) error }) (*healthcode.PendingRecord, error) {
	var r healthcode.PendingRecord
	var ev []byte
	var c, s healthcode.Principal
	var created, decided int64
	if err := row.Scan(&r.ID, &ev, &r.Link.Kind, &r.Link.Venue, &r.Link.Via, &r.Case, &r.Status, &r.CoSignNeeded,
		&r.Requester.ID, &r.Requester.Name, &r.Requester.Role, &r.Requester.Unit, &c.ID, &c.Name, &c.Role, &c.Unit,
		&s.ID, &s.Name, &s.Role, &s.Unit, &created, &decided, &r.EvidenceID); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(ev, &r.Evidence); err != nil {
		return nil, fmt.Errorf("pending record %d: %w", r.ID, err)
	}
	r.Confirmer, r.CoSigner, r.CreatedAt = optPrincipal(c), optPrincipal(s), fromNanos(created)
	if decided != 0 {
		r.DecidedAt = fromNanos(decided)
	}
	return &r, nil
}

// PendingRecord implements healthcode.ReadTx.
func (tx *Tx) PendingRecord(ctx context.Context, id int64) (*healthcode.PendingRecord, error) {
	r, err := scanPending(tx.queryRow(ctx, `SELECT `+pendingCols+` FROM pending_records WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "record.unknown", "no pending record %d", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.PendingRecord: %w", err)
	}
	return r, nil
}

// PendingRecords implements healthcode.ReadTx.
func (tx *Tx) PendingRecords(ctx context.Context, subject, status string, limit int) ([]healthcode.PendingRecord, error) {
	rows, err := tx.query(ctx, `SELECT `+pendingCols+` FROM pending_records WHERE (? = '' OR subject = ?) AND (? = '' OR status = ?)
		ORDER BY id DESC LIMIT ?`, subject, subject, status, status, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.PendingRecords: %w", err)
	}
	defer rows.Close()
	var out []healthcode.PendingRecord
	for rows.Next() {
		r, err := scanPending(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.PendingRecords: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// CreatePendingRecord implements healthcode.Tx.
func (tx *Tx) CreatePendingRecord(ctx context.Context, r *healthcode.PendingRecord) error {
	ev, err := json.Marshal(r.Evidence)
	if err != nil {
		return err
	}
	err = tx.gqueryRow(ctx, `INSERT INTO pending_records (subject, evidence, link_kind, link_venue, link_via, case_id, status, cosign_needed,
		requester_id, requester_name, requester_role, requester_unit, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Evidence.Subject, ev, r.Link.Kind, r.Link.Venue, r.Link.Via, r.Case, r.Status, r.CoSignNeeded,
		r.Requester.ID, r.Requester.Name, r.Requester.Role, r.Requester.Unit, nanos(r.CreatedAt)).Scan(&r.ID)
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", r.Evidence.Subject)
	} else if err != nil {
		return fmt.Errorf("postgres.CreatePendingRecord: %w", err)
	}
	return nil
}

// UpdatePendingRecord implements healthcode.Tx.
func (tx *Tx) UpdatePendingRecord(ctx context.Context, r *healthcode.PendingRecord) error {
	args := []any{r.Status, r.CoSignNeeded}
	args = append(args, principalCols(r.Confirmer)...)
	args = append(args, principalCols(r.CoSigner)...)
	var decided int64
	if !r.DecidedAt.IsZero() {
		decided = nanos(r.DecidedAt)
	}
	args = append(args, decided, r.EvidenceID, r.ID)
	_, err := tx.exec(ctx, `UPDATE pending_records SET status = ?, cosign_needed = ?, confirmer_id = ?, confirmer_name = ?, confirmer_role = ?,
		confirmer_unit = ?, cosigner_id = ?, cosigner_name = ?, cosigner_role = ?, cosigner_unit = ?, decided_at = ?, evidence_id = ? WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("postgres.UpdatePendingRecord: %w", err)
	}
	return nil
}

const unmaskCols = `id, subject, purpose, case_id, status, requester_id, requester_name, requester_role, requester_unit,
	approver_id, approver_name, approver_role, approver_unit, created_at, approved_at, expires`

func scanUnmask(row interface{ Scan(...any) error }) (*healthcode.UnmaskRequest, error) {
	var r healthcode.UnmaskRequest
	var a healthcode.Principal
	var created, approved, expires int64
	if err := row.Scan(&r.ID, &r.Subject, &r.Purpose, &r.Case, &r.Status, &r.Requester.ID, &r.Requester.Name, &r.Requester.Role,
		&r.Requester.Unit, &a.ID, &a.Name, &a.Role, &a.Unit, &created, &approved, &expires); err != nil {
		return nil, err
	}
	r.Approver, r.CreatedAt = optPrincipal(a), fromNanos(created)
	if approved != 0 {
		r.ApprovedAt = fromNanos(approved)
	}
	if expires != 0 {
		r.Expires = fromNanos(expires)
	}
	return &r, nil
}

// UnmaskRequest implements healthcode.ReadTx.
func (tx *Tx) UnmaskRequest(ctx context.Context, id int64) (*healthcode.UnmaskRequest, error) {
	r, err := scanUnmask(tx.queryRow(ctx, `SELECT `+unmaskCols+` FROM unmask_requests WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "unmask.unknown", "no unmask request %d", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.UnmaskRequest: %w", err)
	}
	return r, nil
}

// UnmaskRequests implements healthcode.ReadTx.
func (tx *Tx) UnmaskRequests(ctx context.Context, subject, status string, limit int) ([]healthcode.UnmaskRequest, error) {
	rows, err := tx.query(ctx, `SELECT `+unmaskCols+` FROM unmask_requests WHERE (? = '' OR subject = ?) AND (? = '' OR status = ?)
		ORDER BY id DESC LIMIT ?`, subject, subject, status, status, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.UnmaskRequests: %w", err)
	}
	defer rows.Close()
	var out []healthcode.UnmaskRequest
	for rows.Next() {
		r, err := scanUnmask(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.UnmaskRequests: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// CreateUnmaskRequest implements healthcode.Tx.
func (tx *Tx) CreateUnmaskRequest(ctx context.Context, r *healthcode.UnmaskRequest) error {
	err := tx.gqueryRow(ctx, `INSERT INTO unmask_requests (subject, purpose, case_id, status, requester_id, requester_name, requester_role,
		requester_unit, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.Subject, r.Purpose, r.Case, r.Status,
		r.Requester.ID, r.Requester.Name, r.Requester.Role, r.Requester.Unit, nanos(r.CreatedAt)).Scan(&r.ID)
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "no person %q", r.Subject)
	} else if err != nil {
		return fmt.Errorf("postgres.CreateUnmaskRequest: %w", err)
	}
	return nil
}

// UpdateUnmaskRequest implements healthcode.Tx.
func (tx *Tx) UpdateUnmaskRequest(ctx context.Context, r *healthcode.UnmaskRequest) error {
	args := []any{r.Status}
	args = append(args, principalCols(r.Approver)...)
	var approved, expires int64
	if !r.ApprovedAt.IsZero() {
		approved = nanos(r.ApprovedAt)
	}
	if !r.Expires.IsZero() {
		expires = nanos(r.Expires)
	}
	args = append(args, approved, expires, r.ID)
	_, err := tx.exec(ctx, `UPDATE unmask_requests SET status = ?, approver_id = ?, approver_name = ?, approver_role = ?, approver_unit = ?,
		approved_at = ?, expires = ? WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("postgres.UpdateUnmaskRequest: %w", err)
	}
	return nil
}

// BulkPeople implements healthcode.ReadTx.
func (tx *Tx) BulkPeople(ctx context.Context, key healthcode.BulkKey, since time.Time) ([]string, error) {
	var q string
	var v string
	switch {
	case key.Requester != "":
		q, v = `SELECT DISTINCT subject FROM bulk_people WHERE requester = ? AND at >= ?`, key.Requester
	case key.Approver != "":
		q, v = `SELECT DISTINCT subject FROM bulk_people WHERE approver = ? AND at >= ?`, key.Approver
	case key.Case != "":
		q, v = `SELECT DISTINCT subject FROM bulk_people WHERE case_id = ? AND at >= ?`, key.Case
	default:
		return nil, nil
	}
	out, err := tx.queryStrings(ctx, q, v, nanos(since))
	if err != nil {
		return nil, fmt.Errorf("postgres.BulkPeople: %w", err)
	}
	return out, nil
}

// AddBulk implements healthcode.Tx.
func (tx *Tx) AddBulk(ctx context.Context, es []healthcode.BulkEntry) error {
	for _, e := range es {
		if _, err := tx.exec(ctx, `INSERT INTO bulk_people (kind, ref, subject, requester, approver, case_id, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			e.Kind, e.Ref, e.Subject, e.Requester, e.Approver, e.Case, nanos(e.At)); err != nil {
			return fmt.Errorf("postgres.AddBulk: %w", err)
		}
	}
	return nil
}

// SetBulkApprover implements healthcode.Tx. The people then count against
// the approver from the approval: the row's time moves to it, which only
// lengthens how long they count against the requester and the case.
func (tx *Tx) SetBulkApprover(ctx context.Context, kind string, ref int64, approver string, at time.Time) error {
	if _, err := tx.exec(ctx, `UPDATE bulk_people SET approver = ?, at = greatest(at, ?) WHERE kind = ? AND ref = ?`, approver, nanos(at), kind, ref); err != nil {
		return fmt.Errorf("postgres.SetBulkApprover: %w", err)
	}
	return nil
}

// DeleteBulk implements healthcode.Tx.
func (tx *Tx) DeleteBulk(ctx context.Context, kind string, ref int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM bulk_people WHERE kind = ? AND ref = ?`, kind, ref); err != nil {
		return fmt.Errorf("postgres.DeleteBulk: %w", err)
	}
	return nil
}
