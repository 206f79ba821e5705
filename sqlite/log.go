package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/tlog"
)

// LogSize implements healthcode.ReadTx.
func (tx *Tx) LogSize(ctx context.Context) (int64, error) {
	var n int64
	if err := tx.queryRow(ctx, `SELECT coalesce(max(leaf) + 1, 0) FROM log_hashes`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite.LogSize: %w", err)
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
	args := make([]any, 0, len(indexes))
	for _, i := range indexes {
		if i < 0 {
			return nil, healthcode.Errorfd(healthcode.EINVALID, "tlog.index", "negative hash index %d", i)
		}
		n, _ := tlog.LeafOfStorageIndex(i)
		if _, ok := leaves[n]; !ok {
			leaves[n] = nil
			args = append(args, n)
		}
	}
	q := `SELECT leaf, hashes FROM log_hashes WHERE leaf IN (?` + strings.Repeat(",?", len(args)-1) + `)`
	if first, last := args[0].(int64), args[len(args)-1].(int64); len(args) > 8 && last-first == int64(len(args)-1) {
		// Contiguous leaves (an audit walking the tree): one range scan.
		q, args = `SELECT leaf, hashes FROM log_hashes WHERE leaf >= ? AND leaf <= ?`, []any{first, last}
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite.LogHashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		var b []byte
		if err := rows.Scan(&n, &b); err != nil {
			return nil, fmt.Errorf("sqlite.LogHashes: %w", err)
		}
		leaves[n] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite.LogHashes: %w", err)
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
	if errors.Is(err, sql.ErrNoRows) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.leaf_missing", "no leaf %d in the log", index)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite.LogLeaf: %w", err)
	}
	return b, nil
}

// leafBatch is the most leaves one multi-row INSERT writes: one statement
// per table for a whole batch is far cheaper than one per leaf.
const leafBatch = 64

// AppendLeaves implements healthcode.Tx.
func (tx *Tx) AppendLeaves(ctx context.Context, rs []*healthcode.LogRecord) error {
	if len(rs) == 0 {
		return nil
	}
	// The primary key makes a second append at the same index fail; this
	// makes a gap fail too (asking the store once per transaction).
	if tx.nextLeaf < 0 {
		size, err := tx.LogSize(ctx)
		if err != nil {
			return err
		}
		tx.nextLeaf = size
	}
	for i, r := range rs {
		if r.Index != tx.nextLeaf+int64(i) {
			if r.Index < tx.nextLeaf+int64(i) {
				return healthcode.Errorfd(healthcode.ECONFLICT, "tlog.exists", "log leaf %d already exists", r.Index)
			}
			return healthcode.Errorfd(healthcode.ECONFLICT, "tlog.gap", "log append at %d leaves a gap (the next leaf is %d)", r.Index, tx.nextLeaf+int64(i))
		}
	}
	for start, n := 0, 0; start < len(rs); start += n {
		n = chunkSize(len(rs)-start, leafBatch)
		chunk := rs[start : start+n]
		hashes := make([]any, 0, 2*len(chunk))
		leaves := make([]any, 0, 2*len(chunk))
		var openings []any
		for _, r := range chunk {
			buf := make([]byte, 0, 32*len(r.Hashes))
			for _, h := range r.Hashes {
				buf = append(buf, h[:]...)
			}
			hashes = append(hashes, r.Index, buf)
			leaves = append(leaves, r.Index, r.Leaf)
			if r.Subject != "" || r.Opening != nil {
				openings = append(openings, r.Index, r.Subject, r.Opening)
			}
		}
		if _, err := tx.exec(ctx, multiInsert(`INSERT INTO log_hashes (leaf, hashes) VALUES `, "(?, ?)", len(chunk)), hashes...); isUnique(err) {
			return healthcode.Errorfd(healthcode.ECONFLICT, "tlog.exists", "log leaf %d already exists", chunk[0].Index)
		} else if err != nil {
			return fmt.Errorf("sqlite.AppendLeaves: %w", err)
		}
		if _, err := tx.exec(ctx, multiInsert(`INSERT INTO log_leaves (leaf, data) VALUES `, "(?, ?)", len(chunk)), leaves...); err != nil {
			return fmt.Errorf("sqlite.AppendLeaves: %w", err)
		}
		if len(openings) > 0 {
			if _, err := tx.exec(ctx, multiInsert(`INSERT INTO log_openings (leaf, subject, opening) VALUES `, "(?, ?, ?)", len(openings)/3), openings...); err != nil {
				return fmt.Errorf("sqlite.AppendLeaves: opening: %w", err)
			}
		}
	}
	tx.nextLeaf += int64(len(rs))
	return nil
}

// chunkSize returns how many of the remaining rows the next multi-row
// statement takes: the largest power of two up to max. Batches of any size
// thus use a handful of statement shapes, each prepared once.
func chunkSize(remaining, max int) int {
	n := 1
	for n*2 <= remaining && n*2 <= max {
		n *= 2
	}
	return n
}

// multiInsert returns prefix followed by n copies of row, comma-separated.
func multiInsert(prefix, row string, n int) string {
	return prefix + row + strings.Repeat(", "+row, n-1)
}

// LogOpening implements healthcode.ReadTx.
func (tx *Tx) LogOpening(ctx context.Context, index int64) (string, []byte, error) {
	var subject string
	var opening []byte
	err := tx.queryRow(ctx, `SELECT subject, opening FROM log_openings WHERE leaf = ?`, index).Scan(&subject, &opening)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.no_opening", "leaf %d has no opening", index)
	} else if err != nil {
		return "", nil, fmt.Errorf("sqlite.LogOpening: %w", err)
	}
	return subject, opening, nil
}

// SubjectLeaves implements healthcode.ReadTx.
func (tx *Tx) SubjectLeaves(ctx context.Context, subject string, limit int) ([]int64, error) {
	if subject == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := tx.query(ctx, `SELECT leaf FROM log_openings WHERE subject = ? ORDER BY leaf DESC LIMIT ?`, subject, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite.SubjectLeaves: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlite.SubjectLeaves: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite.SubjectLeaves: %w", err)
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
	rows, err := tx.query(ctx, `WITH RECURSIVE r(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM r WHERE i + 1 < ?)
		SELECT r.i, h.hashes, l.data, o.subject, o.opening FROM r
		LEFT JOIN log_hashes h ON h.leaf = r.i LEFT JOIN log_leaves l ON l.leaf = r.i LEFT JOIN log_openings o ON o.leaf = r.i
		ORDER BY r.i`, start, start+int64(n))
	if err != nil {
		return nil, fmt.Errorf("sqlite.LogRecords: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		var hashes, leaf, opening []byte
		var subject sql.NullString
		if err := rows.Scan(&i, &hashes, &leaf, &subject, &opening); err != nil {
			return nil, fmt.Errorf("sqlite.LogRecords: %w", err)
		}
		r := &out[i-start]
		r.Leaf, r.Subject, r.Opening = leaf, subject.String, opening
		if len(hashes) >= 32 {
			r.Hashes = make([][32]byte, len(hashes)/32)
			for k := range r.Hashes {
				copy(r.Hashes[k][:], hashes[32*k:])
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite.LogRecords: %w", err)
	}
	return out, nil
}

// PutCheckpoint implements healthcode.Tx.
func (tx *Tx) PutCheckpoint(ctx context.Context, c *healthcode.Checkpoint) error {
	_, err := tx.exec(ctx, `INSERT INTO checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (size) DO NOTHING`, c.Size, c.Root[:], c.Note, nanos(c.Time))
	if err != nil {
		return fmt.Errorf("sqlite.PutCheckpoint: %w", err)
	}
	return nil
}

// LatestCheckpoint implements healthcode.ReadTx.
func (tx *Tx) LatestCheckpoint(ctx context.Context) (*healthcode.Checkpoint, error) {
	var c healthcode.Checkpoint
	var root []byte
	var t int64
	err := tx.queryRow(ctx, `SELECT size, root, note, created_at FROM checkpoints ORDER BY size DESC LIMIT 1`).Scan(&c.Size, &root, &c.Note, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, healthcode.Errorfd(healthcode.ENOTFOUND, "tlog.no_checkpoint", "no checkpoint signed yet")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite.LatestCheckpoint: %w", err)
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
			return fmt.Errorf("sqlite.OversightFigures: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				return fmt.Errorf("sqlite.OversightFigures: %w", err)
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
	if err := count(`SELECT kind || char(0) || submitter_name, count(*) FROM evidence WHERE recorded_at >= ? GROUP BY kind, submitter_name`,
		func(k string, n int64) {
			kind, who, _ := strings.Cut(k, "\x00")
			f.EvidenceByKind[healthcode.EvidenceKind(kind)] += n
			f.EvidenceBySubmitter[who] += n
		}, nanos(since)); err != nil {
		return nil, err
	}
	return f, nil
}
