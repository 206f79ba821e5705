package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"healthcode"
)

const alertCols = `id, detector, key, opened_at, first_effect_at, summary, officials, units, people, log_indexes, review, closed_at`

func scanAlert(row interface{ Scan(...any) error }) (*healthcode.Alert, error) {
	var a healthcode.Alert
	var opened, first, closed int64
	var officials, units, people, indexes string
	if err := row.Scan(&a.ID, &a.Detector, &a.Key, &opened, &first, &a.Summary, &officials, &units, &people, &indexes,
		&a.ReviewID, &closed); err != nil {
		return nil, err
	}
	a.OpenedAt, a.FirstEffectAt = fromNanos(opened), fromNanos(first)
	if closed != 0 {
		a.ClosedAt = fromNanos(closed)
	}
	for _, f := range []struct {
		s   string
		dst any
	}{{officials, &a.Officials}, {units, &a.Units}, {people, &a.People}, {indexes, &a.LogIndexes}} {
		if err := json.Unmarshal([]byte(f.s), f.dst); err != nil {
			return nil, fmt.Errorf("postgres: alert %d: %w", a.ID, err)
		}
	}
	return &a, nil
}

// Alert implements healthcode.ReadTx.
func (tx *Tx) Alert(ctx context.Context, id int64) (*healthcode.Alert, error) {
	a, err := scanAlert(tx.queryRow(ctx, `SELECT `+alertCols+` FROM oversight_alerts WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "alert.unknown", "no alert %d", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Alert: %w", err)
	}
	return a, nil
}

// Alerts implements healthcode.ReadTx.
func (tx *Tx) Alerts(ctx context.Context, q healthcode.AlertQuery) ([]healthcode.Alert, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = healthcode.DefaultAlertLimit
	}
	open := -1
	if q.Open != nil {
		open = 0
		if *q.Open {
			open = 1
		}
	}
	rows, err := tx.query(ctx, `SELECT `+alertCols+` FROM oversight_alerts
		WHERE (?1::text = '' OR detector = ?1)
		  AND (?2::int < 0 OR (?2::int = 1) = (closed_at = 0))
		  AND opened_at >= ?3
		  AND (?4::text = '' OR id IN (SELECT alert FROM oversight_alert_officials WHERE official = ?4))
		ORDER BY id DESC LIMIT ?5`, q.Detector, open, nanos(q.Since), q.Official, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.Alerts: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres.Alerts: %w", err)
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// OpenAlertCounts implements healthcode.ReadTx.
func (tx *Tx) OpenAlertCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := tx.query(ctx, `SELECT detector, count(*) FROM oversight_alerts WHERE closed_at = 0 GROUP BY detector`)
	if err != nil {
		return nil, fmt.Errorf("postgres.OpenAlertCounts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var d string
		var n int64
		if err := rows.Scan(&d, &n); err != nil {
			return nil, fmt.Errorf("postgres.OpenAlertCounts: %w", err)
		}
		out[d] = n
	}
	return out, rows.Err()
}

// CreateAlert implements healthcode.Tx.
func (tx *Tx) CreateAlert(ctx context.Context, a *healthcode.Alert) (bool, error) {
	var id int64
	err := tx.queryRow(ctx, `SELECT id FROM oversight_alerts WHERE detector = ? AND key = ?`, a.Detector, a.Key).Scan(&id)
	if err == nil {
		a.ID = id
		return false, nil
	} else if !isNoRows(err) {
		return false, fmt.Errorf("postgres.CreateAlert: %w", err)
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	idx := a.LogIndexes
	if idx == nil {
		idx = []int64{}
	}
	err = tx.queryRow(ctx, `INSERT INTO oversight_alerts (detector, key, opened_at, first_effect_at, summary, officials, units, people, log_indexes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.Detector, a.Key, nanos(a.OpenedAt), nanos(a.FirstEffectAt), a.Summary,
		enc(nonNil(a.Officials)), enc(nonNil(a.Units)), enc(nonNil(a.People)), enc(idx)).Scan(&a.ID)
	if err != nil {
		return false, fmt.Errorf("postgres.CreateAlert: %w", err)
	}
	for _, o := range a.Officials {
		if _, err := tx.exec(ctx, `INSERT INTO oversight_alert_officials (official, alert) VALUES (?, ?) ON CONFLICT DO NOTHING`, o, a.ID); err != nil {
			return false, fmt.Errorf("postgres.CreateAlert: %w", err)
		}
	}
	return true, nil
}

const reviewCols = `id, alert, note, status, opener_id, opener_name, opener_role, opener_unit, opened_at, expires,
	confirmer_id, confirmer_name, confirmer_role, confirmer_unit, confirmed_at,
	closer_id, closer_name, closer_role, closer_unit, closed_at, close_note, log_index, close_index`

func scanReview(row interface{ Scan(...any) error }) (*healthcode.Review, error) {
	var r healthcode.Review
	var opened, expires, confirmed, closed int64
	var c, k healthcode.Principal
	if err := row.Scan(&r.ID, &r.AlertID, &r.Note, &r.Status, &r.OpenedBy.ID, &r.OpenedBy.Name, &r.OpenedBy.Role, &r.OpenedBy.Unit,
		&opened, &expires, &c.ID, &c.Name, &c.Role, &c.Unit, &confirmed, &k.ID, &k.Name, &k.Role, &k.Unit, &closed,
		&r.CloseNote, &r.LogIndex, &r.CloseIndex); err != nil {
		return nil, err
	}
	r.OpenedAt, r.Expires = fromNanos(opened), fromNanos(expires)
	if c.ID != "" {
		r.ConfirmedBy, r.ConfirmedAt = &c, fromNanos(confirmed)
	}
	if k.ID != "" {
		r.ClosedBy = &k
	}
	if closed != 0 {
		r.ClosedAt = fromNanos(closed)
	}
	return &r, nil
}

func (tx *Tx) reviewOfficials(ctx context.Context, rs []healthcode.Review) error {
	for i := range rs {
		var err error
		rs[i].Officials, err = tx.queryStrings(ctx, `SELECT official FROM oversight_review_officials WHERE review = ? ORDER BY official`, rs[i].ID)
		if err != nil {
			return fmt.Errorf("postgres: review officials: %w", err)
		}
	}
	return nil
}

func (tx *Tx) reviews(ctx context.Context, query string, args ...any) ([]healthcode.Review, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []healthcode.Review
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, *r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, tx.reviewOfficials(ctx, out)
}

// Review implements healthcode.ReadTx.
func (tx *Tx) Review(ctx context.Context, id int64) (*healthcode.Review, error) {
	rs, err := tx.reviews(ctx, `SELECT `+reviewCols+` FROM oversight_reviews WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres.Review: %w", err)
	}
	if len(rs) == 0 {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "review.unknown", "no review %d", id)
	}
	return &rs[0], nil
}

// Reviews implements healthcode.ReadTx.
func (tx *Tx) Reviews(ctx context.Context, status string) ([]healthcode.Review, error) {
	rs, err := tx.reviews(ctx, `SELECT `+reviewCols+` FROM oversight_reviews WHERE ?1::text = '' OR status = ?1 ORDER BY id DESC`, status)
	if err != nil {
		return nil, fmt.Errorf("postgres.Reviews: %w", err)
	}
	return rs, nil
}

// ReviewsInForce implements healthcode.ReadTx.
func (tx *Tx) ReviewsInForce(ctx context.Context, official string, t time.Time) ([]healthcode.Review, error) {
	rs, err := tx.reviews(ctx, `SELECT `+reviewCols+` FROM oversight_reviews
		WHERE id IN (SELECT review FROM oversight_review_officials WHERE official = ?)
		  AND status = ? AND expires > ? ORDER BY id`, official, healthcode.ReviewOpen, nanos(t))
	if err != nil {
		return nil, fmt.Errorf("postgres.ReviewsInForce: %w", err)
	}
	return rs, nil
}

// CreateReview implements healthcode.Tx.
func (tx *Tx) CreateReview(ctx context.Context, r *healthcode.Review) error {
	err := tx.gqueryRow(ctx, `INSERT INTO oversight_reviews (alert, note, status, opener_id, opener_name, opener_role, opener_unit,
		opened_at, expires, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.AlertID, r.Note, r.Status,
		r.OpenedBy.ID, r.OpenedBy.Name, r.OpenedBy.Role, r.OpenedBy.Unit, nanos(r.OpenedAt), nanos(r.Expires), r.LogIndex).Scan(&r.ID)
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "alert.unknown", "no alert %d", r.AlertID)
	} else if err != nil {
		return fmt.Errorf("postgres.CreateReview: %w", err)
	}
	for _, o := range r.Officials {
		if _, err := tx.exec(ctx, `INSERT INTO oversight_review_officials (official, review) VALUES (?, ?) ON CONFLICT DO NOTHING`, o, r.ID); err != nil {
			return fmt.Errorf("postgres.CreateReview: %w", err)
		}
	}
	if _, err := tx.exec(ctx, `UPDATE oversight_alerts SET review = ? WHERE id = ?`, r.ID, r.AlertID); err != nil {
		return fmt.Errorf("postgres.CreateReview: %w", err)
	}
	return nil
}

// UpdateReview implements healthcode.Tx.
func (tx *Tx) UpdateReview(ctx context.Context, r *healthcode.Review) error {
	var c, k healthcode.Principal
	if r.ConfirmedBy != nil {
		c = *r.ConfirmedBy
	}
	if r.ClosedBy != nil {
		k = *r.ClosedBy
	}
	var confirmed, closed int64
	if !r.ConfirmedAt.IsZero() {
		confirmed = nanos(r.ConfirmedAt)
	}
	if !r.ClosedAt.IsZero() {
		closed = nanos(r.ClosedAt)
	}
	res, err := tx.exec(ctx, `UPDATE oversight_reviews SET status = ?, expires = ?,
		confirmer_id = ?, confirmer_name = ?, confirmer_role = ?, confirmer_unit = ?, confirmed_at = ?,
		closer_id = ?, closer_name = ?, closer_role = ?, closer_unit = ?, closed_at = ?, close_note = ?, close_index = ?
		WHERE id = ?`, r.Status, nanos(r.Expires), c.ID, c.Name, c.Role, c.Unit, confirmed, k.ID, k.Name, k.Role, k.Unit,
		closed, r.CloseNote, r.CloseIndex, r.ID)
	if err != nil {
		return fmt.Errorf("postgres.UpdateReview: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "review.unknown", "no review %d", r.ID)
	}
	if r.Status == healthcode.ReviewClosed {
		if _, err := tx.exec(ctx, `UPDATE oversight_alerts SET closed_at = ? WHERE id = ? AND closed_at = 0`, closed, r.AlertID); err != nil {
			return fmt.Errorf("postgres.UpdateReview: %w", err)
		}
	}
	return nil
}

// OversightCursor implements healthcode.ReadTx.
func (tx *Tx) OversightCursor(ctx context.Context, name string) (int64, error) {
	var v int64
	err := tx.queryRow(ctx, `SELECT value FROM oversight_cursors WHERE name = ?`, name).Scan(&v)
	if isNoRows(err) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("postgres.OversightCursor: %w", err)
	}
	return v, nil
}

// SetOversightCursor implements healthcode.Tx.
func (tx *Tx) SetOversightCursor(ctx context.Context, name string, value int64) error {
	if _, err := tx.exec(ctx, `INSERT INTO oversight_cursors (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value); err != nil {
		return fmt.Errorf("postgres.SetOversightCursor: %w", err)
	}
	return nil
}

// Deliveries implements healthcode.ReadTx.
func (tx *Tx) Deliveries(ctx context.Context, alertID int64) ([]healthcode.DeliveryRecord, error) {
	rows, err := tx.query(ctx, `SELECT alert, attempt, at, status, error FROM oversight_deliveries WHERE alert = ? ORDER BY id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("postgres.Deliveries: %w", err)
	}
	defer rows.Close()
	var out []healthcode.DeliveryRecord
	for rows.Next() {
		var d healthcode.DeliveryRecord
		var at int64
		if err := rows.Scan(&d.AlertID, &d.Attempt, &at, &d.Status, &d.Error); err != nil {
			return nil, fmt.Errorf("postgres.Deliveries: %w", err)
		}
		d.At = fromNanos(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// RecordDelivery implements healthcode.Tx.
func (tx *Tx) RecordDelivery(ctx context.Context, d *healthcode.DeliveryRecord) error {
	_, err := tx.gexec(ctx, `INSERT INTO oversight_deliveries (alert, attempt, at, status, error) VALUES (?, ?, ?, ?, ?)`,
		d.AlertID, d.Attempt, nanos(d.At), d.Status, strings.ToValidUTF8(d.Error, "?"))
	if isForeignKey(err) {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "alert.unknown", "no alert %d", d.AlertID)
	} else if err != nil {
		return fmt.Errorf("postgres.RecordDelivery: %w", err)
	}
	return nil
}

// RegisteredBetween implements healthcode.ReadTx.
func (tx *Tx) RegisteredBetween(ctx context.Context, from, to time.Time) (int64, error) {
	var n int64
	if err := tx.queryRow(ctx, `SELECT count(*) FROM people WHERE created_at >= ? AND created_at < ?`, nanos(from), nanos(to)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres.RegisteredBetween: %w", err)
	}
	return n, nil
}

// CheckInsAfter implements healthcode.ReadTx.
func (tx *Tx) CheckInsAfter(ctx context.Context, after int64, limit int) ([]healthcode.CheckIn, error) {
	out, err := tx.checkIns(ctx, `SELECT `+checkInCols+` FROM checkins WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres.CheckInsAfter: %w", err)
	}
	return out, nil
}
