package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"healthcode"

	"healthcode/tlog"
)

// Tube implements healthcode.ReadTx.
func (tx *Tx) Tube(ctx context.Context, id string) (*healthcode.Tube, error) {
	var t healthcode.Tube
	var at int64
	err := tx.queryRow(ctx, `SELECT id, mixed, unit, members, result_by, result_kind, result, result_at FROM tubes WHERE id = ?`, id).
		Scan(&t.ID, &t.Mixed, &t.Unit, &t.Members, &t.ResultBy, &t.ResultKind, &t.Result, &at)
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tube.unknown", "no sample was collected into tube %q", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.Tube: %w", err)
	}
	if at != 0 {
		t.ResultAt = fromNanos(at)
	}
	return &t, nil
}

const collectionCols = `c.id, c.tube, t.mixed, c.subject, c.site, c.collector, c.collector_name, c.collector_unit, c.collected_at, c.recorded_at`

// TubeMembers implements healthcode.ReadTx.
func (tx *Tx) TubeMembers(ctx context.Context, id string) ([]healthcode.Collection, error) {
	rows, err := tx.query(ctx, `SELECT `+collectionCols+` FROM collections c JOIN tubes t ON t.id = c.tube WHERE c.tube = ? ORDER BY c.id`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres.TubeMembers: %w", err)
	}
	defer rows.Close()
	var out []healthcode.Collection
	for rows.Next() {
		var c healthcode.Collection
		var collected, recorded int64
		if err := rows.Scan(&c.ID, &c.Tube, &c.Mixed, &c.Subject, &c.Site, &c.Collector, &c.CollectorName, &c.CollectorUnit, &collected, &recorded); err != nil {
			return nil, fmt.Errorf("postgres.TubeMembers: %w", err)
		}
		c.CollectedAt, c.RecordedAt = fromNanos(collected), fromNanos(recorded)
		out = append(out, c)
	}
	return out, rows.Err()
}

// InsertCollection implements healthcode.Tx.
func (tx *Tx) InsertCollection(ctx context.Context, c *healthcode.Collection) (bool, error) {
	err := tx.queryRow(ctx, `SELECT id FROM collections WHERE tube = ? AND subject = ?`, c.Tube, c.Subject).Scan(&c.ID)
	if err == nil {
		return false, nil
	} else if !isNoRows(err) {
		return false, fmt.Errorf("postgres.InsertCollection: %w", err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO tubes (id, mixed, unit, members, opened_at) VALUES (?, ?, ?, 0, ?) ON CONFLICT (id) DO NOTHING`,
		c.Tube, c.Mixed, c.CollectorUnit, nanos(c.RecordedAt)); err != nil {
		return false, fmt.Errorf("postgres.InsertCollection: tube: %w", err)
	}
	err = tx.gqueryRow(ctx, `INSERT INTO collections (tube, subject, site, collector, collector_name, collector_unit, collected_at, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.Tube, c.Subject, c.Site, c.Collector, c.CollectorName, c.CollectorUnit,
		nanos(c.CollectedAt), nanos(c.RecordedAt)).Scan(&c.ID)
	if isForeignKey(err) {
		return false, healthcode.Errorfd(healthcode.ENOTFOUND, "person.unknown", "the collection names an unknown person")
	} else if err != nil {
		return false, fmt.Errorf("postgres.InsertCollection: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE tubes SET members = members + 1 WHERE id = ?`, c.Tube); err != nil {
		return false, fmt.Errorf("postgres.InsertCollection: tube: %w", err)
	}
	return true, nil
}

// SetTubeResult implements healthcode.Tx.
func (tx *Tx) SetTubeResult(ctx context.Context, t *healthcode.Tube) error {
	res, err := tx.exec(ctx, `UPDATE tubes SET result_by = ?, result_kind = ?, result = ?, result_at = ? WHERE id = ? AND result = ''`,
		t.ResultBy, t.ResultKind, t.Result, nanos(t.ResultAt), t.ID)
	if err != nil {
		return fmt.Errorf("postgres.SetTubeResult: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := tx.Tube(ctx, t.ID); err != nil {
		return err
	}
	return healthcode.Errorfd(healthcode.ECONFLICT, "tube.resulted", "tube %q has a result already", t.ID)
}

// purgeCollections deletes the collections made before cutoff and the
// subject openings of the log leaves that record them ("collection/<id>"),
// and returns how many of each it deleted.
func (tx *Tx) purgeCollections(ctx context.Context, cutoff time.Time) (collections, openings int64, err error) {
	if cutoff.IsZero() {
		return 0, 0, nil
	}
	ids := map[int64]bool{}
	rows, err := tx.query(ctx, `SELECT id FROM collections WHERE collected_at < ?`, nanos(cutoff))
	if err != nil {
		return 0, 0, fmt.Errorf("postgres.Purge: collections: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("postgres.Purge: collections: %w", err)
		}
		ids[id] = true
	}
	if err := closeRows(rows); err != nil {
		return 0, 0, fmt.Errorf("postgres.Purge: collections: %w", err)
	}
	if len(ids) == 0 {
		return 0, 0, nil
	}
	rows, err = tx.query(ctx, `SELECT o.leaf, o.subject, o.opening, l.data FROM log_openings o JOIN log_leaves l ON l.leaf = o.leaf
		WHERE o.subject IN (SELECT DISTINCT subject FROM collections WHERE collected_at < ?) ORDER BY o.leaf`, nanos(cutoff))
	if err != nil {
		return 0, 0, fmt.Errorf("postgres.Purge: collection openings: %w", err)
	}
	var leaves []int64
	for rows.Next() {
		var leaf int64
		var subject string
		var opening, data []byte
		if err := rows.Scan(&leaf, &subject, &opening, &data); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("postgres.Purge: collection openings: %w", err)
		}
		if id, ok := collectionOfLeaf(data, subject, opening); ok && ids[id] {
			leaves = append(leaves, leaf)
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, 0, fmt.Errorf("postgres.Purge: collection openings: %w", err)
	}
	for _, leaf := range leaves {
		res, err := tx.exec(ctx, `DELETE FROM log_openings WHERE leaf = ?`, leaf)
		if err != nil {
			return 0, 0, fmt.Errorf("postgres.Purge: collection openings: %w", err)
		}
		n, _ := res.RowsAffected()
		openings += n
	}
	res, err := tx.exec(ctx, `DELETE FROM collections WHERE collected_at < ?`, nanos(cutoff))
	if err != nil {
		return 0, 0, fmt.Errorf("postgres.Purge: collections: %w", err)
	}
	collections, _ = res.RowsAffected()
	return collections, openings, nil
}

// collectionOfLeaf returns the collection id a collection leaf records (in
// its ref, committed: the opening opens it).
func collectionOfLeaf(data []byte, subject string, opening []byte) (int64, bool) {
	l, err := tlog.DecodeLeaf(data)
	if err != nil || l.Entry.Type != healthcode.LogCollection {
		return 0, false
	}
	e, err := l.Open(subject, opening)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(e.Ref, "collection/")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}
