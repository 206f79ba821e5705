package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/tlog"
)

// Deletion here must really delete (invariant 7). Three things see to it:
//
//   - PRAGMA secure_delete on the writer: SQLite overwrites the content it
//     frees with zeros instead of leaving it in free pages;
//   - the openings of deleted evidence's log leaves go with the
//     evidence, so the log no longer links it to anyone;
//   - Compact (after a sunset) checkpoints the WAL, rewrites the file with
//     VACUUM and truncates the WAL, so no old page survives in either file.

// secureDelete turns on secure_delete for the transaction's connection. The
// setting is the connection's, not the transaction's; it stays on.
func (tx *Tx) secureDelete(ctx context.Context) error {
	if _, err := tx.tx.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return fmt.Errorf("sqlite: secure_delete: %w", err)
	}
	return nil
}

// purgeLeafBatch is the most rows one insert into purge_leaves writes.
const purgeLeafBatch = 256

// Purge implements healthcode.Tx.
//
// The expired evidence is gathered in a temporary table of the writer's
// connection (so a purge of millions of rows needs no memory of its own), the
// openings of its log leaves are found by opening the leaves of the
// people concerned (an evidence leaf's ref is "evidence/<id>"), and then
// both are deleted.
func (tx *Tx) Purge(ctx context.Context, plan *healthcode.PurgePlan) (*healthcode.PurgeReport, error) {
	if plan == nil {
		return nil, healthcode.Errorfd(healthcode.EINVALID, "purge.plan", "purge needs a plan")
	}
	if err := tx.secureDelete(ctx); err != nil {
		return nil, err
	}
	rep := &healthcode.PurgeReport{Counts: map[string]int64{}}
	for _, q := range []string{
		`CREATE TEMP TABLE IF NOT EXISTS purge_evidence (id INTEGER PRIMARY KEY, subject TEXT NOT NULL, kind TEXT NOT NULL)`,
		`CREATE TEMP TABLE IF NOT EXISTS purge_leaves (leaf INTEGER PRIMARY KEY, evidence INTEGER NOT NULL)`,
		`DELETE FROM temp.purge_evidence`,
		`DELETE FROM temp.purge_leaves`,
	} {
		if _, err := tx.tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("sqlite.Purge: %w", err)
		}
	}
	// One scan of the evidence, one cutoff per kind: the statement has the
	// same shape whatever the plan, so it is prepared once.
	var cases strings.Builder
	args := make([]any, 0, 2*len(healthcode.EvidenceKinds)+1)
	for _, k := range healthcode.EvidenceKinds {
		before, ok := plan.EvidenceBefore[k]
		if !ok || before.IsZero() {
			before = time.Unix(0, 0) // keep every piece of this kind
		}
		cases.WriteString(" WHEN ? THEN ?")
		args = append(args, string(k), nanos(before))
	}
	args = append(args, int64(0))
	if _, err := tx.exec(ctx, `INSERT INTO temp.purge_evidence (id, subject, kind)
		SELECT id, subject, kind FROM evidence WHERE observed_at < CASE kind`+cases.String()+` ELSE ? END`, args...); err != nil {
		return nil, fmt.Errorf("sqlite.Purge: evidence: %w", err)
	}
	for _, k := range healthcode.EvidenceKinds {
		rep.Counts["evidence/"+string(k)] = 0
	}
	rows, err := tx.query(ctx, `SELECT kind, count(*) FROM temp.purge_evidence GROUP BY kind`)
	if err != nil {
		return nil, fmt.Errorf("sqlite.Purge: %w", err)
	}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite.Purge: %w", err)
		}
		rep.Counts["evidence/"+k] = n
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("sqlite.Purge: %w", err)
	}
	if rep.Subjects, err = tx.queryStrings(ctx, `SELECT DISTINCT subject FROM temp.purge_evidence ORDER BY subject`); err != nil {
		return nil, fmt.Errorf("sqlite.Purge: %w", err)
	}
	if rep.Counts["log_openings"], err = tx.purgeOpenings(ctx, len(rep.Subjects) > 0); err != nil {
		return nil, err
	}
	res, err := tx.exec(ctx, `DELETE FROM evidence WHERE id IN (SELECT id FROM temp.purge_evidence)`)
	if err != nil {
		return nil, fmt.Errorf("sqlite.Purge: evidence: %w", err)
	}
	if n, _ := res.RowsAffected(); n != sum(rep.Counts, "evidence/") {
		return nil, fmt.Errorf("sqlite.Purge: deleted %d pieces of evidence, expected %d", n, sum(rep.Counts, "evidence/"))
	}
	if !plan.DesignationsBefore.IsZero() {
		n, err := tx.purgeDesignationNotes(ctx, plan.DesignationsBefore)
		if err != nil {
			return nil, err
		}
		rep.Counts["log_openings"] += n
	}
	// A collection says who was sampled into which tube: it goes, with
	// the subject opening of its leaf, when the results it leads to go.
	if rep.Counts["collections"], rep.Counts["log_openings/collections"], err = tx.purgeCollections(ctx, plan.EvidenceBefore[healthcode.NucleicAcidTest]); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		key, query string
		before     time.Time
	}{
		{"checkins", `DELETE FROM checkins WHERE at < ?`, plan.CheckInsBefore},
		{"designations", `DELETE FROM designations WHERE expires < ?`, plan.DesignationsBefore},
		{"access_records", `DELETE FROM access_records WHERE at < ?`, plan.AccessBefore},
	} {
		rep.Counts[d.key] = 0
		if d.before.IsZero() {
			continue
		}
		res, err := tx.exec(ctx, d.query, nanos(d.before))
		if err != nil {
			return nil, fmt.Errorf("sqlite.Purge: %s: %w", d.key, err)
		}
		rep.Counts[d.key], _ = res.RowsAffected()
	}
	for _, q := range []string{`DELETE FROM temp.purge_evidence`, `DELETE FROM temp.purge_leaves`} {
		if _, err := tx.tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("sqlite.Purge: %w", err)
		}
	}
	return rep, nil
}

// purgeOpenings deletes the openings of the log leaves that record
// the evidence in temp.purge_evidence, and returns how many it deleted. Only
// the leaves of the people concerned are read.
func (tx *Tx) purgeOpenings(ctx context.Context, some bool) (int64, error) {
	if !some {
		return 0, nil
	}
	rows, err := tx.query(ctx, `SELECT o.leaf, o.subject, o.opening, l.data FROM log_openings o JOIN log_leaves l ON l.leaf = o.leaf
		WHERE o.subject IN (SELECT DISTINCT subject FROM temp.purge_evidence) ORDER BY o.leaf`)
	if err != nil {
		return 0, fmt.Errorf("sqlite.Purge: openings: %w", err)
	}
	var pairs []int64 // leaf, evidence id, leaf, evidence id…
	for rows.Next() {
		var leaf int64
		var subject string
		var opening, data []byte
		if err := rows.Scan(&leaf, &subject, &opening, &data); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite.Purge: openings: %w", err)
		}
		if id, ok := evidenceOfLeaf(data, subject, opening); ok {
			pairs = append(pairs, leaf, id)
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, fmt.Errorf("sqlite.Purge: openings: %w", err)
	}
	for start := 0; start < len(pairs)/2; {
		n := chunkSize(len(pairs)/2-start, purgeLeafBatch)
		args := make([]any, 0, 2*n)
		for _, v := range pairs[2*start : 2*(start+n)] {
			args = append(args, v)
		}
		if _, err := tx.exec(ctx, multiInsert(`INSERT INTO temp.purge_leaves (leaf, evidence) VALUES `, "(?, ?)", n), args...); err != nil {
			return 0, fmt.Errorf("sqlite.Purge: openings: %w", err)
		}
		start += n
	}
	res, err := tx.exec(ctx, `DELETE FROM log_openings WHERE leaf IN
		(SELECT p.leaf FROM temp.purge_leaves p JOIN temp.purge_evidence e ON e.id = p.evidence)`)
	if err != nil {
		return 0, fmt.Errorf("sqlite.Purge: openings: %w", err)
	}
	return res.RowsAffected()
}

// purgeDesignationNotes deletes the openings of the log leaves of the
// designations that expired before t, which the purge deletes: the cases
// they cited and an approver's words for a refusal go with them. A
// designation's leaves name it in clear ("designation/<id> …").
func (tx *Tx) purgeDesignationNotes(ctx context.Context, before time.Time) (int64, error) {
	ids, err := tx.queryStrings(ctx, `SELECT CAST(id AS TEXT) FROM designations WHERE expires < ?`, nanos(before))
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	expired := map[string]bool{}
	for _, id := range ids {
		expired["designation/"+id] = true
	}
	rows, err := tx.query(ctx, `SELECT o.leaf, l.data FROM log_openings o JOIN log_leaves l ON l.leaf = o.leaf WHERE o.subject = ''`)
	if err != nil {
		return 0, fmt.Errorf("sqlite.Purge: designation notes: %w", err)
	}
	var leaves []any
	for rows.Next() {
		var leaf int64
		var data []byte
		if err := rows.Scan(&leaf, &data); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite.Purge: designation notes: %w", err)
		}
		l, err := tlog.DecodeLeaf(data)
		if err != nil || l.Entry.Type != healthcode.LogDesignation {
			continue
		}
		if id, _, _ := strings.Cut(l.Entry.Ref, " "); expired[id] {
			leaves = append(leaves, leaf)
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, fmt.Errorf("sqlite.Purge: designation notes: %w", err)
	}
	var n int64
	for start := 0; start < len(leaves); start += purgeLeafBatch {
		chunk := leaves[start:min(start+purgeLeafBatch, len(leaves))]
		res, err := tx.exec(ctx, `DELETE FROM log_openings WHERE leaf IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, chunk...)
		if err != nil {
			return 0, fmt.Errorf("sqlite.Purge: designation notes: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// evidenceOfLeaf returns the evidence id an evidence leaf records (in its
// ref, committed in a version 2 leaf: the opening opens it).
func evidenceOfLeaf(data []byte, subject string, opening []byte) (int64, bool) {
	l, err := tlog.DecodeLeaf(data)
	if err != nil || l.Entry.Type != healthcode.LogEvidence {
		return 0, false
	}
	e, err := l.Open(subject, opening)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(e.Ref, "evidence/")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

func closeRows(rows interface {
	Err() error
	Close() error
}) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

func sum(counts map[string]int64, prefix string) int64 {
	var n int64
	for k, v := range counts {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// sunsetSteps are the deletions of a sunset, in an order the foreign keys
// accept, each counted under its key. Everything that names, identifies or
// can be linked to a person goes; what stays is the log (leaves, hashes,
// checkpoints: no personal data, only salted commitments whose openings are
// deleted here), the rule sets, venues and designations (places and
// officials), overrides (which name officials and reasons: the people they
// named go with override_subjects and their free-text notes and case
// references are blanked),
// and the officials' tokens.
var sunsetSteps = []struct{ key, query string }{
	// Crypto-shredding first: without its data key a person's sealed data
	// is unreadable wherever a copy of it lies.
	{"person_keys", `DELETE FROM person_keys`},
	{"checkins", `DELETE FROM checkins`},
	{"collections", `DELETE FROM collections`},
	// A tube names no one once its collections are gone; at the end of
	// the emergency its result and unit go too.
	{"tubes", `DELETE FROM tubes`},
	{"evidence", `DELETE FROM evidence`},
	{"current_codes", `DELETE FROM current_codes`},
	{"decisions", `DELETE FROM decisions`},
	{"access_records", `DELETE FROM access_records`},
	{"appeals", `DELETE FROM appeals`},
	{"override_subjects", `DELETE FROM override_subjects`},
	{"cases", `DELETE FROM cases`},
	{"pending_records", `DELETE FROM pending_records`},
	{"unmask_requests", `DELETE FROM unmask_requests`},
	{"bulk_people", `DELETE FROM bulk_people`},
	// A re-evaluation sweep's place is a person's pseudonym.
	{"review_sweep", `DELETE FROM review_sweep`},
	// An override's note and case reference are free text an official
	// wrote about people.
	{"override_notes", `UPDATE overrides SET note = '' WHERE note != ''`},
	{"override_case_refs", `UPDATE overrides SET case_ref = '' WHERE case_ref != ''`},
	// Oversight's alerts and reviews stay (they name officials); the people
	// an alert named and what auditors wrote go.
	{"oversight_alert_people", `UPDATE oversight_alerts SET people = '[]' WHERE people != '[]'`},
	{"oversight_review_notes", `UPDATE oversight_reviews SET note = '', close_note = '' WHERE note != '' OR close_note != ''`},
	{"citizen_tokens", `DELETE FROM tokens WHERE role = 'citizen' OR subject != ''`},
	{"log_openings", `DELETE FROM log_openings`},
	{"people", `DELETE FROM people`},
}

// Sunset implements healthcode.Tx. Call Compact after it commits so that
// the deleted pages leave the file and its WAL.
func (tx *Tx) Sunset(ctx context.Context) (*healthcode.PurgeReport, error) {
	if err := tx.secureDelete(ctx); err != nil {
		return nil, err
	}
	rep := &healthcode.PurgeReport{Counts: map[string]int64{}}
	for _, s := range sunsetSteps {
		res, err := tx.exec(ctx, s.query)
		if err != nil {
			return nil, fmt.Errorf("sqlite.Sunset: %s: %w", s.key, err)
		}
		if rep.Counts[s.key], err = res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("sqlite.Sunset: %s: %w", s.key, err)
		}
	}
	return rep, nil
}

var _ healthcode.Compacter = (*DB)(nil)

// compactTries bounds how often Compact retries a checkpoint that readers
// hold up.
const compactTries = 100

// Compact implements healthcode.Compacter: it checkpoints the WAL into the
// database file, rewrites the file with VACUUM (so that free pages, and
// whatever deleted rows left in them, are gone and the file shrinks), and
// checkpoints again, truncating the WAL to nothing. Writers wait meanwhile.
// Returns EUNAVAILABLE if readers keep the WAL from being checkpointed.
func (db *DB) Compact(ctx context.Context) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite.Compact: %w", err)
	}
	defer conn.Close()
	checkpoint := func() error {
		for try := 0; ; try++ {
			var busy, logPages, done int64
			if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &done); err != nil {
				return fmt.Errorf("sqlite.Compact: checkpoint: %w", err)
			}
			if busy == 0 {
				return nil
			}
			if try == compactTries {
				return healthcode.Errorfd(healthcode.EUNAVAILABLE, "sqlite.compact_busy", "readers kept the write-ahead log from being checkpointed; try again")
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return fmt.Errorf("sqlite.Compact: %w", err)
	}
	if err := checkpoint(); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("sqlite.Compact: vacuum: %w", err)
	}
	return checkpoint()
}
