package postgres

import (
	"context"
	"fmt"
	"time"

	"healthcode"
)

// Units, officials, their proposals, tokens and page sessions.

func optNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromNanos(n)
}

func zeroNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return nanos(t)
}

// CreateUnit implements healthcode.Tx.
func (tx *Tx) CreateUnit(ctx context.Context, u *healthcode.Unit) error {
	_, err := tx.gexec(ctx, `INSERT INTO units (id, name, region, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.Name, u.Region, nanos(u.CreatedAt), u.CreatedBy)
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "unit.exists", "unit %q exists", u.ID)
	} else if err != nil {
		return fmt.Errorf("postgres.CreateUnit: %w", err)
	}
	return nil
}

const unitCols = `id, name, region, created_at, created_by`

func scanUnit(r interface{ Scan(...any) error }) (*healthcode.Unit, error) {
	var u healthcode.Unit
	var created int64
	if err := r.Scan(&u.ID, &u.Name, &u.Region, &created, &u.CreatedBy); err != nil {
		return nil, err
	}
	u.CreatedAt = fromNanos(created)
	return &u, nil
}

// Unit implements healthcode.ReadTx.
func (tx *Tx) Unit(ctx context.Context, id string) (*healthcode.Unit, error) {
	u, err := scanUnit(tx.queryRow(ctx, `SELECT `+unitCols+` FROM units WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "unit.unknown", "no unit %q in the registry", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Unit: %w", err)
	}
	return u, nil
}

// Units implements healthcode.ReadTx.
func (tx *Tx) Units(ctx context.Context) ([]healthcode.Unit, error) {
	rows, err := tx.query(ctx, `SELECT `+unitCols+` FROM units ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres.Units: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Unit
	for rows.Next() {
		u, err := scanUnit(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.Units: %w", err)
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

const officialCols = `id, name, role, unit, status, created_at, created_by, changed_at`

func scanOfficial(r interface{ Scan(...any) error }) (*healthcode.Official, error) {
	var o healthcode.Official
	var created, changed int64
	if err := r.Scan(&o.ID, &o.Name, &o.Role, &o.Unit, &o.Status, &created, &o.CreatedBy, &changed); err != nil {
		return nil, err
	}
	o.CreatedAt, o.ChangedAt = fromNanos(created), optNanos(changed)
	return &o, nil
}

// CreateOfficial implements healthcode.Tx.
func (tx *Tx) CreateOfficial(ctx context.Context, o *healthcode.Official) error {
	_, err := tx.gexec(ctx, `INSERT INTO officials (`+officialCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Name, o.Role, o.Unit, o.Status, nanos(o.CreatedAt), o.CreatedBy, zeroNanos(o.ChangedAt))
	switch {
	case isUnique(err):
		return healthcode.Errorfd(healthcode.ECONFLICT, "official.exists", "official %q exists", o.ID)
	case isForeignKey(err):
		return healthcode.Errorfd(healthcode.ENOTFOUND, "unit.unknown", "no unit %q in the registry", o.Unit)
	case err != nil:
		return fmt.Errorf("postgres.CreateOfficial: %w", err)
	}
	return nil
}

// UpdateOfficial implements healthcode.Tx.
func (tx *Tx) UpdateOfficial(ctx context.Context, o *healthcode.Official) error {
	res, err := tx.gexec(ctx, `UPDATE officials SET name = ?, unit = ?, status = ?, changed_at = ? WHERE id = ?`,
		o.Name, o.Unit, o.Status, zeroNanos(o.ChangedAt), o.ID)
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "unit.unknown", "no unit %q in the registry", o.Unit)
	} else if err != nil {
		return fmt.Errorf("postgres.UpdateOfficial: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "official.unknown", "no official %q", o.ID)
	}
	return nil
}

// Official implements healthcode.ReadTx.
func (tx *Tx) Official(ctx context.Context, id string) (*healthcode.Official, error) {
	o, err := scanOfficial(tx.queryRow(ctx, `SELECT `+officialCols+` FROM officials WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "official.unknown", "no official %q", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Official: %w", err)
	}
	return o, nil
}

// Officials implements healthcode.ReadTx.
func (tx *Tx) Officials(ctx context.Context) ([]healthcode.Official, error) {
	rows, err := tx.query(ctx, `SELECT `+officialCols+` FROM officials ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres.Officials: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Official
	for rows.Next() {
		o, err := scanOfficial(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.Officials: %w", err)
		}
		out = append(out, *o)
	}
	return out, rows.Err()
}

const proposalCols = `id, official_id, name, role, unit, change, status, proposer_id, proposer_name, proposer_role, proposer_unit,
	proposed_at, decided_by, decided_at`

func scanProposal(r interface{ Scan(...any) error }) (*healthcode.OfficialProposal, error) {
	var p healthcode.OfficialProposal
	var proposed, decided, kind int64
	if err := r.Scan(&p.ID, &p.Official.ID, &p.Official.Name, &p.Official.Role, &p.Official.Unit, &kind, &p.Status,
		&p.ProposedBy.ID, &p.ProposedBy.Name, &p.ProposedBy.Role, &p.ProposedBy.Unit, &proposed, &p.DecidedBy, &decided); err != nil {
		return nil, err
	}
	p.ProposedAt, p.DecidedAt = fromNanos(proposed), optNanos(decided)
	p.Change, p.Token = kind == proposalChange, kind == proposalToken
	return &p, nil
}

// The kind of a proposal, in its change column (no migration: 0 and 1 were
// creation and change; 2 is a token for an existing official).
const (
	proposalCreate = 0
	proposalChange = 1
	proposalToken  = 2
)

// CreateOfficialProposal implements healthcode.Tx.
func (tx *Tx) CreateOfficialProposal(ctx context.Context, p *healthcode.OfficialProposal) error {
	if p.Change && p.Token {
		return healthcode.Errorfd(healthcode.EINVALID, "proposal.kind", "a proposal is a creation, a change or a token, not two")
	}
	kind := proposalCreate
	if p.Change {
		kind = proposalChange
	} else if p.Token {
		kind = proposalToken
	}
	err := tx.gqueryRow(ctx, `INSERT INTO official_proposals (official_id, name, role, unit, change, status, proposer_id, proposer_name,
		proposer_role, proposer_unit, proposed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.Official.ID, p.Official.Name, p.Official.Role, p.Official.Unit, kind, p.Status,
		p.ProposedBy.ID, p.ProposedBy.Name, p.ProposedBy.Role, p.ProposedBy.Unit, nanos(p.ProposedAt)).Scan(&p.ID)
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "unit.unknown", "no unit %q in the registry", p.Official.Unit)
	} else if err != nil {
		return fmt.Errorf("postgres.CreateOfficialProposal: %w", err)
	}
	return nil
}

// DecideOfficialProposal implements healthcode.Tx.
func (tx *Tx) DecideOfficialProposal(ctx context.Context, p *healthcode.OfficialProposal) error {
	res, err := tx.exec(ctx, `UPDATE official_proposals SET status = ?, decided_by = ?, decided_at = ?, official_id = ?
		WHERE id = ? AND status = ?`, p.Status, p.DecidedBy, zeroNanos(p.DecidedAt), p.Official.ID, p.ID, healthcode.ProposalPending)
	if err != nil {
		return fmt.Errorf("postgres.DecideOfficialProposal: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ECONFLICT, "proposal.decided", "proposal %d is not pending", p.ID)
	}
	return nil
}

// OfficialProposal implements healthcode.ReadTx.
func (tx *Tx) OfficialProposal(ctx context.Context, id int64) (*healthcode.OfficialProposal, error) {
	p, err := scanProposal(tx.queryRow(ctx, `SELECT `+proposalCols+` FROM official_proposals WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "proposal.unknown", "no proposal %d", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.OfficialProposal: %w", err)
	}
	return p, nil
}

// OfficialProposals implements healthcode.ReadTx.
func (tx *Tx) OfficialProposals(ctx context.Context, status string) ([]healthcode.OfficialProposal, error) {
	rows, err := tx.query(ctx, `SELECT `+proposalCols+` FROM official_proposals WHERE ? = '' OR status = ? ORDER BY id DESC`, status, status)
	if err != nil {
		return nil, fmt.Errorf("postgres.OfficialProposals: %w", err)
	}
	defer rows.Close()
	var out []healthcode.OfficialProposal
	for rows.Next() {
		p, err := scanProposal(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.OfficialProposals: %w", err)
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// A token's principal is the official's current record where there is one
// (a renamed or moved official speaks with the new name and unit); a
// citizen's token carries its own.
const tokenSelect = `SELECT t.hash, t.token_id, t.id, coalesce(o.name, t.name), t.role, coalesce(o.unit, t.unit), t.subject,
	t.issued_at, t.issued_by, t.expires_at, t.revoked_at
	FROM tokens t LEFT JOIN officials o ON o.id = t.id AND t.role != 'citizen' `

func scanToken(r interface{ Scan(...any) error }) (*healthcode.Token, error) {
	var t healthcode.Token
	p := &t.Principal
	var issued, expires, revoked int64
	if err := r.Scan(&t.Hash, &t.ID, &p.ID, &p.Name, &p.Role, &p.Unit, &p.Subject, &issued, &t.IssuedBy, &expires, &revoked); err != nil {
		return nil, err
	}
	t.IssuedAt, t.Expires, t.RevokedAt = optNanos(issued), optNanos(expires), optNanos(revoked)
	return &t, nil
}

// Token implements healthcode.ReadTx.
func (tx *Tx) Token(ctx context.Context, tokenHash []byte) (*healthcode.Token, error) {
	t, err := scanToken(tx.queryRow(ctx, tokenSelect+`WHERE t.hash = ?`, tokenHash))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.unknown_token", "unknown token")
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Token: %w", err)
	}
	return t, nil
}

// TokenByID implements healthcode.ReadTx.
func (tx *Tx) TokenByID(ctx context.Context, id string) (*healthcode.Token, error) {
	t, err := scanToken(tx.queryRow(ctx, tokenSelect+`WHERE t.token_id = ? AND t.token_id != ''`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "token.unknown", "no token %q", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.TokenByID: %w", err)
	}
	return t, nil
}

// CreateToken implements healthcode.Tx.
func (tx *Tx) CreateToken(ctx context.Context, t *healthcode.Token) error {
	p := t.Principal
	_, err := tx.gexec(ctx, `INSERT INTO tokens (hash, id, name, role, unit, subject, token_id, issued_at, issued_by, expires_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, p.ID, p.Name, p.Role, p.Unit, p.Subject, t.ID, zeroNanos(t.IssuedAt), t.IssuedBy, zeroNanos(t.Expires), zeroNanos(t.RevokedAt))
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "token.exists", "token already exists")
	} else if err != nil {
		return fmt.Errorf("postgres.CreateToken: %w", err)
	}
	return nil
}

// RevokeToken implements healthcode.Tx.
func (tx *Tx) RevokeToken(ctx context.Context, id string, at time.Time) error {
	t, err := tx.TokenByID(ctx, id)
	if err != nil {
		return err
	}
	if !t.RevokedAt.IsZero() {
		return healthcode.Errorfd(healthcode.ECONFLICT, "token.revoked", "token %s is revoked already", id)
	}
	if _, err := tx.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE hash = ?`, nanos(at), t.Hash); err != nil {
		return fmt.Errorf("postgres.RevokeToken: %w", err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, t.Hash); err != nil {
		return fmt.Errorf("postgres.RevokeToken: %w", err)
	}
	return nil
}

// RevokeTokensOf implements healthcode.Tx.
func (tx *Tx) RevokeTokensOf(ctx context.Context, officialID string, at time.Time) ([]string, error) {
	ids, err := tx.queryStrings(ctx, `SELECT token_id FROM tokens WHERE id = ? AND role != 'citizen' AND revoked_at = 0 ORDER BY token_id`, officialID)
	if err != nil {
		return nil, fmt.Errorf("postgres.RevokeTokensOf: %w", err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE token_hash IN (SELECT hash FROM tokens WHERE id = ? AND role != 'citizen')`, officialID); err != nil {
		return nil, fmt.Errorf("postgres.RevokeTokensOf: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND role != 'citizen' AND revoked_at = 0`, nanos(at), officialID); err != nil {
		return nil, fmt.Errorf("postgres.RevokeTokensOf: %w", err)
	}
	return ids, nil
}

// CreateSession implements healthcode.Tx.
func (tx *Tx) CreateSession(ctx context.Context, s *healthcode.Session) error {
	if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, nanos(s.Created)); err != nil {
		return fmt.Errorf("postgres.CreateSession: %w", err)
	}
	_, err := tx.gexec(ctx, `INSERT INTO sessions (hash, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		s.Hash, s.TokenHash, nanos(s.Created), nanos(s.Expires))
	switch {
	case isUnique(err):
		return healthcode.Errorfd(healthcode.ECONFLICT, "session.exists", "session exists")
	case isForeignKey(err):
		return healthcode.Errorfd(healthcode.EUNAUTHORIZED, "auth.unknown_token", "unknown token")
	case err != nil:
		return fmt.Errorf("postgres.CreateSession: %w", err)
	}
	return nil
}

// Session implements healthcode.ReadTx.
func (tx *Tx) Session(ctx context.Context, hash []byte) (*healthcode.Session, error) {
	var s healthcode.Session
	var created, expires int64
	err := tx.queryRow(ctx, `SELECT hash, token_hash, created_at, expires_at FROM sessions WHERE hash = ?`, hash).
		Scan(&s.Hash, &s.TokenHash, &created, &expires)
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "session.unknown", "no such session")
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Session: %w", err)
	}
	s.Created, s.Expires = fromNanos(created), fromNanos(expires)
	return &s, nil
}

// EndSession implements healthcode.Tx.
func (tx *Tx) EndSession(ctx context.Context, hash []byte) error {
	res, err := tx.exec(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	if err != nil {
		return fmt.Errorf("postgres.EndSession: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "session.unknown", "no such session")
	}
	return nil
}
