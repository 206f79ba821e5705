package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"healthcode"

	"github.com/jackc/pgx/v5"
)

// EvidenceByID implements healthcode.ReadTx.
func (tx *Tx) EvidenceByID(ctx context.Context, id int64) (*healthcode.Evidence, error) {
	e, err := scanEvidence(tx.queryRow(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "evidence.unknown", "no evidence %d", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.EvidenceByID: %w", err)
	}
	return e, nil
}

// SubjectsOfCase implements healthcode.ReadTx.
func (tx *Tx) SubjectsOfCase(ctx context.Context, caseRef string) ([]string, error) {
	out, err := tx.queryStrings(ctx, `SELECT DISTINCT subject FROM evidence WHERE case_ref = ? AND kind = ? AND diagnosis IN (?, ?) ORDER BY subject`,
		caseRef, healthcode.Diagnosis, healthcode.DiagnosisConfirmed, healthcode.DiagnosisAsymptomatic)
	if err != nil {
		return nil, fmt.Errorf("postgres.SubjectsOfCase: %w", err)
	}
	return out, nil
}

const venueCols = `id, name, address, region, category, owner, secret, status, registered_at, approved_at, approved_by`

func scanVenue(row interface{ Scan(...any) error }) (*healthcode.Venue, error) {
	var v healthcode.Venue
	var reg, appr int64
	if err := row.Scan(&v.ID, &v.Name, &v.Address, &v.Region, &v.Category, &v.Owner, &v.SealedSecret, &v.Status, &reg, &appr, &v.ApprovedBy); err != nil {
		return nil, err
	}
	v.RegisteredAt = fromNanos(reg)
	if appr != 0 {
		v.ApprovedAt = fromNanos(appr)
	}
	return &v, nil
}

// Venue implements healthcode.ReadTx.
func (tx *Tx) Venue(ctx context.Context, id string) (*healthcode.Venue, error) {
	v, err := scanVenue(tx.queryRow(ctx, `SELECT `+venueCols+` FROM venues WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "venue.unknown", "no venue %q", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Venue: %w", err)
	}
	return v, nil
}

// VenuesIn implements healthcode.ReadTx.
func (tx *Tx) VenuesIn(ctx context.Context, area string) ([]healthcode.Venue, error) {
	prefix := area
	switch {
	case len(area) == 6 && area[2:] == "0000":
		prefix = area[:2]
	case len(area) == 6 && area[4:] == "00":
		prefix = area[:4]
	}
	rows, err := tx.query(ctx, `SELECT `+venueCols+` FROM venues WHERE region LIKE ? || '%' ORDER BY id`, prefix)
	if err != nil {
		return nil, fmt.Errorf("postgres.VenuesIn: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Venue
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.VenuesIn: %w", err)
		}
		if healthcode.RegionContains(area, v.Region) {
			out = append(out, *v)
		}
	}
	return out, rows.Err()
}

// CreateVenue implements healthcode.Tx.
func (tx *Tx) CreateVenue(ctx context.Context, v *healthcode.Venue) error {
	if len(v.SealedSecret) == 0 {
		return healthcode.Errorf(healthcode.EINTERNAL, "postgres.CreateVenue: venue %q has no sealed secret", v.ID)
	}
	_, err := tx.gexec(ctx, `INSERT INTO venues (`+venueCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.Name, v.Address, v.Region, v.Category, v.Owner, v.SealedSecret, v.Status, nanos(v.RegisteredAt), 0, v.ApprovedBy)
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "venue.exists", "venue %q exists", v.ID)
	} else if err != nil {
		return fmt.Errorf("postgres.CreateVenue: %w", err)
	}
	return nil
}

// Venues implements healthcode.ReadTx.
func (tx *Tx) Venues(ctx context.Context, after string, limit int) ([]healthcode.Venue, error) {
	rows, err := tx.query(ctx, `SELECT `+venueCols+` FROM venues WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.Venues: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Venue
	for rows.Next() {
		v, err := scanVenue(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.Venues: %w", err)
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

// SetVenueSecret implements healthcode.Tx.
func (tx *Tx) SetVenueSecret(ctx context.Context, id string, sealed []byte) error {
	if len(sealed) == 0 {
		return healthcode.Errorf(healthcode.EINTERNAL, "postgres.SetVenueSecret: no sealed secret")
	}
	res, err := tx.exec(ctx, `UPDATE venues SET secret = ? WHERE id = ?`, sealed, id)
	if err != nil {
		return fmt.Errorf("postgres.SetVenueSecret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "venue.unknown", "no venue %q", id)
	}
	return nil
}

// SetVenueStatus implements healthcode.Tx.
func (tx *Tx) SetVenueStatus(ctx context.Context, id, status, by string, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE venues SET status = ?, approved_by = ?, approved_at = ? WHERE id = ?`, status, by, nanos(at), id)
	if err != nil {
		return fmt.Errorf("postgres.SetVenueStatus: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "venue.unknown", "no venue %q", id)
	}
	return nil
}

const checkInCols = `id, venue, subject, at, slot, verified`

func (tx *Tx) checkIns(ctx context.Context, query string, args ...any) ([]healthcode.CheckIn, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []healthcode.CheckIn
	for rows.Next() {
		var c healthcode.CheckIn
		var at int64
		if err := rows.Scan(&c.ID, &c.Venue, &c.Subject, &at, &c.Slot, &c.Verified); err != nil {
			return nil, err
		}
		c.At = fromNanos(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// maxInArgs bounds the people one check-in query names (SQLite's limit on
// bound variables is far above it).
const maxInArgs = 1000

// checkInWhere builds the WHERE clause of q. A query with neither a venue
// nor people is refused: it would read everyone's.
func checkInWhere(q healthcode.CheckInQuery) (string, []any, error) {
	if q.Venue == "" && len(q.Subjects) == 0 {
		return "", nil, healthcode.Errorfd(healthcode.EINVALID, "checkin.query", "a check-in query names a venue or people")
	}
	where := []string{"at >= ?", "at < ?"}
	args := []any{nanos(q.From), nanos(q.To)}
	if q.Venue != "" {
		where = append(where, "venue = ?")
		args = append(args, q.Venue)
	}
	if len(q.Subjects) > 0 {
		where = append(where, "subject IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(q.Subjects)), ", ")+")")
		for _, s := range q.Subjects {
			args = append(args, s)
		}
	}
	return strings.Join(where, " AND "), args, nil
}

// CheckIns implements healthcode.ReadTx: keyset pages on (at, id), which
// the (venue, at) and (subject, at) indexes serve.
func (tx *Tx) CheckIns(ctx context.Context, q healthcode.CheckInQuery, after healthcode.CheckInCursor, limit int) ([]healthcode.CheckIn, error) {
	if len(q.Subjects) > maxInArgs {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "checkin.query", "at most %d people in one check-in query", maxInArgs)
	}
	where, args, err := checkInWhere(q)
	if err != nil {
		return nil, err
	}
	if !after.IsZero() {
		where += " AND (at > ? OR (at = ? AND id > ?))"
		args = append(args, nanos(after.At), nanos(after.At), after.ID)
	}
	out, err := tx.checkIns(ctx, `SELECT `+checkInCols+` FROM checkins WHERE `+where+` ORDER BY at, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("postgres.CheckIns: %w", err)
	}
	return out, nil
}

// CountCheckIns implements healthcode.ReadTx.
func (tx *Tx) CountCheckIns(ctx context.Context, q healthcode.CheckInQuery) (rows, people int64, err error) {
	if len(q.Subjects) > maxInArgs {
		return 0, 0, healthcode.Errorfd(healthcode.EINVALID, "checkin.query", "at most %d people in one check-in query", maxInArgs)
	}
	where, args, err := checkInWhere(q)
	if err != nil {
		return 0, 0, err
	}
	if err := tx.queryRow(ctx, `SELECT count(*), count(DISTINCT subject) FROM checkins WHERE `+where, args...).Scan(&rows, &people); err != nil {
		return 0, 0, fmt.Errorf("postgres.CountCheckIns: %w", err)
	}
	return rows, people, nil
}

// CheckInsOf implements healthcode.ReadTx.
func (tx *Tx) CheckInsOf(ctx context.Context, subject string, from, to time.Time) ([]healthcode.CheckIn, error) {
	out, err := tx.checkIns(ctx, `SELECT `+checkInCols+` FROM checkins WHERE subject = ? AND at >= ? AND at < ? ORDER BY at, id`,
		subject, nanos(from), nanos(to))
	if err != nil {
		return nil, fmt.Errorf("postgres.CheckInsOf: %w", err)
	}
	return out, nil
}

// copyCheckIns is the size of a batch from which InsertCheckIns writes with
// COPY rather than one INSERT over arrays.
const copyCheckIns = 512

// InsertCheckIns implements healthcode.Tx. A live-code check-in first
// claims its (venue, person, slot) in checkin_slots, and is stored only if
// the claim is new; the batch's rows get their ids from the table's
// sequence, in order (the ids of the replays are skipped), and are written with one statement (COPY for a large
// batch) into the partitions of their days.
func (tx *Tx) InsertCheckIns(ctx context.Context, cs []*healthcode.CheckIn) ([]bool, error) {
	inserted := make([]bool, len(cs))
	if len(cs) == 0 {
		return inserted, nil
	}
	type key struct {
		venue, subject string
		slot           int64
	}
	// Refuse a batch naming an unknown venue or person before writing
	// anything (a violated foreign key would abort the whole transaction),
	// and take ids for every row in the same round trip.
	av, as := make([]string, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		av[i], as[i] = c.Venue, c.Subject
	}
	var unknown int
	var ids []int64
	if err := tx.queryRow(ctx, `SELECT (SELECT count(*) FROM unnest(?::text[], ?::text[]) AS u(venue, subject)
			WHERE NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = u.venue) OR NOT EXISTS (SELECT 1 FROM people p WHERE p.pseudonym = u.subject)),
		ARRAY(SELECT nextval(pg_get_serial_sequence('checkins', 'id')) FROM generate_series(1, ?::bigint))`,
		av, as, int64(len(cs))).Scan(&unknown, &ids); err != nil {
		return nil, checkInError(err)
	}
	if unknown > 0 {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "checkin.unknown", "a check-in names an unknown venue or person")
	}
	slices.Sort(ids)
	var lv, ls []string
	var lslot, lat []int64
	for i, c := range cs {
		if c.Slot < 0 {
			inserted[i] = true
			continue
		}
		lv, ls, lslot, lat = append(lv, c.Venue), append(ls, c.Subject), append(lslot, c.Slot), append(lat, nanos(c.At))
	}
	if len(lv) > 0 {
		rows, err := tx.query(ctx, `INSERT INTO checkin_slots (venue, subject, slot, at)
			SELECT venue, subject, slot, at FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[]) WITH ORDINALITY AS u(venue, subject, slot, at, ord)
			ORDER BY ord ON CONFLICT DO NOTHING RETURNING venue, subject, slot`, lv, ls, lslot, lat)
		if err != nil {
			return nil, checkInError(err)
		}
		claimed := map[key]bool{}
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.venue, &k.subject, &k.slot); err != nil {
				rows.Close()
				return nil, checkInError(err)
			}
			claimed[k] = true
		}
		if err := closeRows(rows); err != nil {
			return nil, checkInError(err)
		}
		// A key claimed in this statement belongs to its first row.
		for i, c := range cs {
			if k := (key{c.Venue, c.Subject, c.Slot}); c.Slot >= 0 && claimed[k] {
				inserted[i] = true
				delete(claimed, k)
			}
		}
	}
	var rowsToWrite []*healthcode.CheckIn
	for i, c := range cs {
		if inserted[i] {
			rowsToWrite = append(rowsToWrite, c)
		}
	}
	n := len(rowsToWrite)
	if n == 0 {
		return inserted, nil
	}
	venue, subject := make([]string, n), make([]string, n)
	at, slot := make([]int64, n), make([]int64, n)
	verified := make([]bool, n)
	for i, c := range rowsToWrite {
		venue[i], subject[i], at[i], slot[i], verified[i] = c.Venue, c.Subject, nanos(c.At), c.Slot, c.Verified
	}
	if err := tx.createPartitions(ctx, at); err != nil {
		return nil, err
	}
	ids = ids[:n] // the ids of replays are not used
	var err error
	if n >= copyCheckIns {
		_, err = tx.tx.CopyFrom(ctx, pgx.Identifier{"checkins"}, []string{"id", "venue", "subject", "at", "slot", "verified"},
			pgx.CopyFromSlice(n, func(i int) ([]any, error) {
				return []any{ids[i], venue[i], subject[i], at[i], slot[i], verified[i]}, nil
			}))
	} else {
		_, err = tx.exec(ctx, `INSERT INTO checkins (id, venue, subject, at, slot, verified)
			SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::boolean[])`, ids, venue, subject, at, slot, verified)
	}
	if err != nil {
		return nil, checkInError(err)
	}
	for i, c := range rowsToWrite {
		c.ID = ids[i]
	}
	return inserted, nil
}

func checkInError(err error) error {
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "checkin.unknown", "a check-in names an unknown venue or person")
	}
	return fmt.Errorf("postgres.InsertCheckIns: %w", err)
}

const designationCols = `id, venue, area, level, reason, cases, window_from, window_until, expires, status,
	requester_id, requester_name, requester_role, requester_unit, approver_id, approver_name, approver_role, approver_unit,
	created_at, approved_at, log_index, cosigner_id, cosigner_name, cosigner_role, cosigner_unit, cosigned_at, exposures`

func scanDesignation(row interface{ Scan(...any) error }) (*healthcode.RiskDesignation, error) {
	var d healthcode.RiskDesignation
	var cases string
	var from, until, expires, created, approved int64
	var a, c healthcode.Principal
	var cosigned int64
	if err := row.Scan(&d.ID, &d.Venue, &d.Area, &d.Level, &d.Reason, &cases, &from, &until, &expires, &d.Status,
		&d.Requester.ID, &d.Requester.Name, &d.Requester.Role, &d.Requester.Unit, &a.ID, &a.Name, &a.Role, &a.Unit,
		&created, &approved, &d.LogIndex, &c.ID, &c.Name, &c.Role, &c.Unit, &cosigned, &d.Exposures); err != nil {
		return nil, err
	}
	d.From, d.Until, d.Expires, d.CreatedAt = fromNanos(from), fromNanos(until), fromNanos(expires), fromNanos(created)
	if a.ID != "" {
		d.Approver, d.ApprovedAt = &a, fromNanos(approved)
	}
	if c.ID != "" {
		d.CoSigner, d.CoSignedAt = &c, fromNanos(cosigned)
	}
	var err error
	d.Cases, err = parseIDs(cases)
	return &d, err
}

// Designation implements healthcode.ReadTx.
func (tx *Tx) Designation(ctx context.Context, id int64) (*healthcode.RiskDesignation, error) {
	d, err := scanDesignation(tx.queryRow(ctx, `SELECT `+designationCols+` FROM designations WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "designation.unknown", "no designation %d", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Designation: %w", err)
	}
	return d, nil
}

// Designations implements healthcode.ReadTx.
func (tx *Tx) Designations(ctx context.Context, t time.Time) ([]healthcode.RiskDesignation, error) {
	rows, err := tx.query(ctx, `SELECT `+designationCols+` FROM designations WHERE expires > ? ORDER BY id DESC`, nanos(t))
	if err != nil {
		return nil, fmt.Errorf("postgres.Designations: %w", err)
	}
	defer rows.Close()
	var out []healthcode.RiskDesignation
	for rows.Next() {
		d, err := scanDesignation(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.Designations: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// CreateDesignation implements healthcode.Tx.
func (tx *Tx) CreateDesignation(ctx context.Context, d *healthcode.RiskDesignation) error {
	err := tx.queryRow(ctx, `INSERT INTO designations (venue, area, level, reason, cases, window_from, window_until, expires, status,
		requester_id, requester_name, requester_role, requester_unit, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.Venue, d.Area, d.Level, d.Reason, formatIDs(d.Cases), nanos(d.From), nanos(d.Until), nanos(d.Expires), d.Status,
		d.Requester.ID, d.Requester.Name, d.Requester.Role, d.Requester.Unit, nanos(d.CreatedAt)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("postgres.CreateDesignation: %w", err)
	}
	return nil
}

// ApproveDesignation implements healthcode.Tx.
func (tx *Tx) ApproveDesignation(ctx context.Context, id int64, a *healthcode.Principal, at time.Time, logIndex, exposures int64) error {
	res, err := tx.exec(ctx, `UPDATE designations SET status = ?, approver_id = ?, approver_name = ?, approver_role = ?, approver_unit = ?,
		approved_at = ?, log_index = ?, exposures = ? WHERE id = ? AND status = ?`, healthcode.DesignationApproved, a.ID, a.Name, a.Role, a.Unit,
		nanos(at), logIndex, exposures, id, healthcode.DesignationPending)
	if err != nil {
		return fmt.Errorf("postgres.ApproveDesignation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ECONFLICT, "designation.not_pending", "designation %d is not awaiting approval", id)
	}
	return nil
}

// CoSignDesignation implements healthcode.Tx.
func (tx *Tx) CoSignDesignation(ctx context.Context, id int64, c *healthcode.Principal, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE designations SET cosigner_id = ?, cosigner_name = ?, cosigner_role = ?, cosigner_unit = ?, cosigned_at = ?
		WHERE id = ? AND status = ? AND cosigner_id = ''`, c.ID, c.Name, c.Role, c.Unit, nanos(at), id, healthcode.DesignationPending)
	if err != nil {
		return fmt.Errorf("postgres.CoSignDesignation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ECONFLICT, "designation.not_pending", "designation %d is not awaiting approval, or is co-signed already", id)
	}
	return nil
}

// RefuseDesignation implements healthcode.Tx.
func (tx *Tx) RefuseDesignation(ctx context.Context, id int64, by *healthcode.Principal, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE designations SET status = ?, approver_id = ?, approver_name = ?, approver_role = ?, approver_unit = ?,
		approved_at = ? WHERE id = ? AND status = ?`, healthcode.DesignationRefused, by.ID, by.Name, by.Role, by.Unit,
		nanos(at), id, healthcode.DesignationPending)
	if err != nil {
		return fmt.Errorf("postgres.RefuseDesignation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ECONFLICT, "designation.not_pending", "designation %d is not awaiting approval", id)
	}
	return nil
}

// RecordAccess implements healthcode.Tx.
func (tx *Tx) RecordAccess(ctx context.Context, r *healthcode.AccessRecord) error {
	err := tx.queryRow(ctx, `INSERT INTO access_records (at, actor_id, actor_name, actor_role, actor_unit, purpose, case_ref, what, subject)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, nanos(r.Time), r.Actor.ID, r.Actor.Name, r.Actor.Role, r.Actor.Unit, r.Purpose, r.CaseRef, r.What, r.Subject).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("postgres.RecordAccess: %w", err)
	}
	return nil
}

// AccessRecords implements healthcode.ReadTx.
func (tx *Tx) AccessRecords(ctx context.Context, subject string, limit int) ([]healthcode.AccessRecord, error) {
	rows, err := tx.query(ctx, `SELECT id, at, actor_id, actor_name, actor_role, actor_unit, purpose, case_ref, what, subject
		FROM access_records WHERE ? = '' OR subject = ? ORDER BY at DESC, id DESC LIMIT ?`, subject, subject, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.AccessRecords: %w", err)
	}
	defer rows.Close()
	var out []healthcode.AccessRecord
	for rows.Next() {
		var r healthcode.AccessRecord
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.Actor.ID, &r.Actor.Name, &r.Actor.Role, &r.Actor.Unit, &r.Purpose, &r.CaseRef, &r.What, &r.Subject); err != nil {
			return nil, err
		}
		r.Time = fromNanos(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
