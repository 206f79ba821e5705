package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"healthcode"
	"healthcode/tlog"

	"github.com/jackc/pgx/v5"
)

// LogSize implements healthcode.ReadTx.
//
// In a write transaction it also locks the log's head (the one row of
// log_head) until the transaction ends. Every write of the engine begins
// with LogSize and reserves the indexes after it for its entries, so
// writers that log take turns from there: the next one reads the size this
// one leaves. AppendLeaves then advances the head in the same transaction
// (UPDATE … WHERE size = the expected size), so an index is assigned once,
// in order, without gaps, and only by a transaction that commits its leaves:
// a rolled-back transaction leaves the head where it was. No sequence (they
// skip values on rollback) and no advisory lock (CockroachDB and YugabyteDB
// lack them) is involved: only a row lock and UPDATE, which both of those
// engines provide, with their SERIALIZABLE retries surfacing as SQLSTATE
// 40001, which Update runs again.
func (tx *Tx) LogSize(ctx context.Context) (int64, error) {
	q := `SELECT size FROM log_head`
	if tx.write {
		q += ` FOR UPDATE`
	}
	var n int64
	if err := tx.queryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres.LogSize: %w", err)
	}
	if tx.write {
		tx.nextLeaf = n
	}
	return n, nil
}

// LogHashes implements healthcode.ReadTx.
func (tx *Tx) LogHashes(ctx context.Context, indexes []int64) ([][32]byte, error) {
	out := make([][32]byte, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	leaves := map[int64][]byte{}
	list := make([]int64, 0, len(indexes))
	for _, i := range indexes {
		if i < 0 {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "negative hash index %d", i)
		}
		n, _ := tlog.LeafOfStorageIndex(i)
		if _, ok := leaves[n]; !ok {
			leaves[n] = nil
			list = append(list, n)
		}
	}
	q, args := `SELECT leaf, hashes FROM log_hashes WHERE leaf = ANY(?::bigint[])`, []any{list}
	if first, last := list[0], list[len(list)-1]; len(list) > 8 && last-first == int64(len(list)-1) {
		// Contiguous leaves (an audit walking the tree): one range scan.
		q, args = `SELECT leaf, hashes FROM log_hashes WHERE leaf >= ? AND leaf <= ?`, []any{first, last}
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres.LogHashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		var b []byte
		if err := rows.Scan(&n, &b); err != nil {
			return nil, fmt.Errorf("postgres.LogHashes: %w", err)
		}
		leaves[n] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres.LogHashes: %w", err)
	}
	for k, i := range indexes {
		n, off := tlog.LeafOfStorageIndex(i)
		b := leaves[n]
		if len(b) < (off+1)*32 {
			return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.hash_missing", "stored hash %d (leaf %d) is not in the log", i, n)
		}
		copy(out[k][:], b[off*32:])
	}
	return out, nil
}

// LogLeaf implements healthcode.ReadTx.
func (tx *Tx) LogLeaf(ctx context.Context, index int64) ([]byte, error) {
	var b []byte
	err := tx.queryRow(ctx, `SELECT data FROM log_leaves WHERE leaf = ?`, index).Scan(&b)
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.leaf_missing", "no leaf %d in the log", index)
	} else if err != nil {
		return nil, fmt.Errorf("postgres.LogLeaf: %w", err)
	}
	return b, nil
}

// copyLeaves is the size of a batch of leaves from which AppendLeaves
// writes with COPY rather than one INSERT over arrays.
const copyLeaves = 256

// AppendLeaves implements healthcode.Tx.
func (tx *Tx) AppendLeaves(ctx context.Context, rs []*healthcode.LogRecord) error {
	if len(rs) == 0 {
		return nil
	}
	if tx.nextLeaf < 0 {
		if _, err := tx.LogSize(ctx); err != nil {
			return err
		}
	}
	for i, r := range rs {
		if r.Index != tx.nextLeaf+int64(i) {
			if r.Index < tx.nextLeaf+int64(i) {
				return healthcode.Errorfd(healthcode.ECONFLICT, "tlog.exists", "log leaf %d already exists", r.Index)
			}
			return healthcode.Errorfd(healthcode.ECONFLICT, "tlog.gap", "log append at %d leaves a gap (the next leaf is %d)", r.Index, tx.nextLeaf+int64(i))
		}
	}
	// The head moves only from the size this transaction read (and locked).
	res, err := tx.exec(ctx, `UPDATE log_head SET size = size + ? WHERE size = ?`, int64(len(rs)), tx.nextLeaf)
	if err != nil {
		return fmt.Errorf("postgres.AppendLeaves: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return healthcode.Errorfd(healthcode.ECONFLICT, "tlog.exists", "log leaf %d already exists", rs[0].Index)
	}
	n := len(rs)
	index, hashes, leaves := make([]int64, n), make([][]byte, n), make([][]byte, n)
	var oIndex []int64
	var oSubject []string
	var oOpening [][]byte
	for i, r := range rs {
		buf := make([]byte, 0, 32*len(r.Hashes))
		for _, h := range r.Hashes {
			buf = append(buf, h[:]...)
		}
		index[i], hashes[i], leaves[i] = r.Index, buf, r.Leaf
		if r.Subject != "" || r.Opening != nil {
			opening := r.Opening
			if opening == nil {
				opening = []byte{}
			}
			oIndex, oSubject, oOpening = append(oIndex, r.Index), append(oSubject, r.Subject), append(oOpening, opening)
		}
	}
	if n >= copyLeaves {
		err = tx.copyLeaves(ctx, index, hashes, leaves, oIndex, oSubject, oOpening)
	} else {
		err = tx.insertLeaves(ctx, index, hashes, leaves, oIndex, oSubject, oOpening)
	}
	if isUnique(err) {
		return healthcode.Errorfd(healthcode.ECONFLICT, "tlog.exists", "log leaf %d already exists", rs[0].Index)
	} else if err != nil {
		return fmt.Errorf("postgres.AppendLeaves: %w", err)
	}
	tx.nextLeaf += int64(n)
	return nil
}

func (tx *Tx) insertLeaves(ctx context.Context, index []int64, hashes, leaves [][]byte, oIndex []int64, oSubject []string, oOpening [][]byte) error {
	if _, err := tx.exec(ctx, `INSERT INTO log_hashes (leaf, hashes) SELECT * FROM unnest(?::bigint[], ?::bytea[])`, index, hashes); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO log_leaves (leaf, data) SELECT * FROM unnest(?::bigint[], ?::bytea[])`, index, leaves); err != nil {
		return err
	}
	if len(oIndex) > 0 {
		if _, err := tx.exec(ctx, `INSERT INTO log_openings (leaf, subject, opening) SELECT * FROM unnest(?::bigint[], ?::text[], ?::bytea[])`,
			oIndex, oSubject, oOpening); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) copyLeaves(ctx context.Context, index []int64, hashes, leaves [][]byte, oIndex []int64, oSubject []string, oOpening [][]byte) error {
	if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"log_hashes"}, []string{"leaf", "hashes"}, pgx.CopyFromSlice(len(index), func(i int) ([]any, error) {
		return []any{index[i], hashes[i]}, nil
	})); err != nil {
		return err
	}
	if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"log_leaves"}, []string{"leaf", "data"}, pgx.CopyFromSlice(len(index), func(i int) ([]any, error) {
		return []any{index[i], leaves[i]}, nil
	})); err != nil {
		return err
	}
	if len(oIndex) > 0 {
		if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"log_openings"}, []string{"leaf", "subject", "opening"}, pgx.CopyFromSlice(len(oIndex), func(i int) ([]any, error) {
			return []any{oIndex[i], oSubject[i], oOpening[i]}, nil
		})); err != nil {
			return err
		}
	}
	return nil
}

// LogOpening implements healthcode.ReadTx.
func (tx *Tx) LogOpening(ctx context.Context, index int64) (string, []byte, error) {
	var subject string
	var opening []byte
	err := tx.queryRow(ctx, `SELECT subject, opening FROM log_openings WHERE leaf = ?`, index).Scan(&subject, &opening)
	if isNoRows(err) {
		return "", nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.no_opening", "leaf %d has no opening", index)
	} else if err != nil {
		return "", nil, fmt.Errorf("postgres.LogOpening: %w", err)
	}
	return subject, opening, nil
}

// SubjectLeaves implements healthcode.ReadTx.
func (tx *Tx) SubjectLeaves(ctx context.Context, subject string, limit int) ([]int64, error) {
	if subject == "" {
		return nil, nil
	}
	var lim any // NULL: no limit
	if limit > 0 {
		lim = int64(limit)
	}
	rows, err := tx.query(ctx, `SELECT leaf FROM log_openings WHERE subject = ? ORDER BY leaf DESC LIMIT ?::bigint`, subject, lim)
	if err != nil {
		return nil, fmt.Errorf("postgres.SubjectLeaves: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("postgres.SubjectLeaves: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres.SubjectLeaves: %w", err)
	}
	return out, nil
}

// LogRecords implements healthcode.ReadTx. One query per range: every
// index of the range, joined with the three tables it lives in.
func (tx *Tx) LogRecords(ctx context.Context, start int64, n int) ([]healthcode.LogRecord, error) {
	if start < 0 || n < 0 {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "negative leaf range %d+%d", start, n)
	}
	out := make([]healthcode.LogRecord, n)
	for k := range out {
		out[k].Index = start + int64(k)
	}
	if n == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT r.i, h.hashes, l.data, o.subject, o.opening FROM generate_series(?::bigint, ?::bigint - 1) AS r(i)
		LEFT JOIN log_hashes h ON h.leaf = r.i LEFT JOIN log_leaves l ON l.leaf = r.i LEFT JOIN log_openings o ON o.leaf = r.i
		ORDER BY r.i`, start, start+int64(n))
	if err != nil {
		return nil, fmt.Errorf("postgres.LogRecords: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		var hashes, leaf, opening []byte
		var subject *string
		if err := rows.Scan(&i, &hashes, &leaf, &subject, &opening); err != nil {
			return nil, fmt.Errorf("postgres.LogRecords: %w", err)
		}
		r := &out[i-start]
		r.Leaf, r.Opening = leaf, opening
		if subject != nil {
			r.Subject = *subject
		}
		if len(hashes) >= 32 {
			r.Hashes = make([][32]byte, len(hashes)/32)
			for k := range r.Hashes {
				copy(r.Hashes[k][:], hashes[32*k:])
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres.LogRecords: %w", err)
	}
	return out, nil
}

// PutCheckpoint implements healthcode.Tx.
func (tx *Tx) PutCheckpoint(ctx context.Context, c *healthcode.Checkpoint) error {
	_, err := tx.exec(ctx, `INSERT INTO checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (size) DO NOTHING`, c.Size, c.Root[:], c.Note, nanos(c.Time))
	if err != nil {
		return fmt.Errorf("postgres.PutCheckpoint: %w", err)
	}
	return nil
}

// LatestCheckpoint implements healthcode.ReadTx.
func (tx *Tx) LatestCheckpoint(ctx context.Context) (*healthcode.Checkpoint, error) {
	var c healthcode.Checkpoint
	var root []byte
	var t int64
	err := tx.queryRow(ctx, `SELECT size, root, note, created_at FROM checkpoints ORDER BY size DESC LIMIT 1`).Scan(&c.Size, &root, &c.Note, &t)
	if isNoRows(err) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.no_checkpoint", "no checkpoint signed yet")
	} else if err != nil {
		return nil, fmt.Errorf("postgres.LatestCheckpoint: %w", err)
	}
	copy(c.Root[:], root)
	c.Time = fromNanos(t)
	return &c, nil
}

// OversightFigures implements healthcode.ReadTx.
func (tx *Tx) OversightFigures(ctx context.Context, since time.Time) (*healthcode.OversightFigures, error) {
	f := &healthcode.OversightFigures{Since: since, Colours: map[healthcode.Colour]int64{}, DecisionsByReason: map[string]int64{},
		EvidenceByKind: map[healthcode.EvidenceKind]int64{}, EvidenceBySubmitter: map[string]int64{}}
	var err error
	if f.People, err = tx.PeopleCount(ctx); err != nil {
		return nil, err
	}
	count := func(query string, add func(key string, n int64), args ...any) error {
		rows, err := tx.query(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("postgres.OversightFigures: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				return fmt.Errorf("postgres.OversightFigures: %w", err)
			}
			add(k, n)
		}
		return rows.Err()
	}
	if err := count(`SELECT CAST(colour AS TEXT), count(*) FROM current_codes GROUP BY colour`, func(k string, n int64) {
		c, _ := strconv.Atoi(k)
		f.Colours[healthcode.Colour(c)] = n
	}); err != nil {
		return nil, err
	}
	if err := count(`SELECT reason, count(*) FROM decisions WHERE decided_at >= ? GROUP BY reason`, func(k string, n int64) {
		f.DecisionsByReason[k] = n
	}, nanos(since)); err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, `SELECT kind, submitter_name, count(*) FROM evidence WHERE recorded_at >= ? GROUP BY kind, submitter_name`, nanos(since))
	if err != nil {
		return nil, fmt.Errorf("postgres.OversightFigures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, who string
		var n int64
		if err := rows.Scan(&kind, &who, &n); err != nil {
			return nil, fmt.Errorf("postgres.OversightFigures: %w", err)
		}
		f.EvidenceByKind[healthcode.EvidenceKind(kind)] += n
		f.EvidenceBySubmitter[who] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres.OversightFigures: %w", err)
	}
	return f, nil
}
